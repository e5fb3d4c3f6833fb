/* Tsudoi door scanner: reads ticket QR codes one after another from the camera, admits the
 * party through POST /api/v1/checkins, and keeps working offline from a cached check-in list
 * with a queue that is sent when the network returns. Plain JS, no build step.
 */
(function () {
  "use strict";

  var root = document.getElementById("scanner");
  if (!root) return;
  var T = JSON.parse(document.getElementById("scanner-texts").textContent);
  // the event's fee labels by code (こども, おとな): the API's party names only the codes.
  // A page saved by an older service worker may lack them: then the cached list's labels.
  var feesEl = document.getElementById("scanner-fees");
  var feeLabels = feesEl ? JSON.parse(feesEl.textContent) : {};
  var eventId = parseInt(root.dataset.eventId, 10);
  var checkinUrl = root.dataset.checkinUrl;
  var listUrl = root.dataset.listUrl;
  var ticketUrl = root.dataset.ticketUrl;
  var csrf = root.dataset.csrf;
  var video = document.getElementById("scanner-video");
  var canvas = document.getElementById("scanner-canvas");
  var ctx = canvas.getContext("2d", { willReadFrequently: true });
  var statusEl = document.getElementById("net-status");
  var resultEl = document.getElementById("scan-result");
  var messageEl = document.getElementById("camera-message");
  var startBtn = document.getElementById("camera-start");

  var CACHE_KEY = "tsudoi-door-cache-" + eventId;
  var QUEUE_KEY = "tsudoi-door-queue-" + eventId;
  var REVIEW_KEY = "tsudoi-door-review-" + eventId; // offline scans refused once sent
  // the same code held in front of the camera is read once: again only after it has been
  // out of view this long
  var REPEAT_MS = 4000;
  var POST_MS = 5000; // a stalled admission on a weak signal: queue it and say so
  var RETRY_MIN_MS = 3000; // a queue the server did not take: retried later, less often
  var RETRY_MAX_MS = 60000;
  var RETRY_AFTER_MAX_MS = 600000; // a server's Retry-After is kept, up to 10 min
  var lastCode = null;
  var lastAt = 0;
  var sending = false;
  var retryDelay = 0;
  var retryAt = 0;
  var deviceId = localStorage.getItem("tsudoi-device") || ("phone-" + randomId().slice(0, 8));
  localStorage.setItem("tsudoi-device", deviceId);

  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, k) { return values[k]; });
  }

  /* The page's words for counts, lists and money. A copy of the page saved by an older
     version may lack them: then the Japanese forms it was written with. */
  var LIST_SEP = T.list_sep || "、";
  function peopleText(n) {
    var text = (n === 1 ? T.people_one : T.people_other) || T.people || "%(n)s人";
    return fmt(text, { n: n });
  }
  function yenText(amount) {
    return fmt(T.yen || "%(amount)s", { amount: amount.toLocaleString("ja-JP") });
  }
  function nameText(party) {
    if (!party.kana) return party.name;
    return fmt(T.name_kana || "%(name)s（%(kana)s）", { name: party.name, kana: party.kana });
  }

  function randomId() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function load(key, fallback) {
    try { return JSON.parse(localStorage.getItem(key)) || fallback; } catch (e) { return fallback; }
  }
  function save(key, value) { localStorage.setItem(key, JSON.stringify(value)); }

  function cache() { return load(CACHE_KEY, { parties: {} }); }
  function queue() { return load(QUEUE_KEY, []); }

  function online() { return navigator.onLine !== false; }

  function showStatus() {
    var n = queue().length;
    var text;
    if (!online()) text = n ? fmt(T.offline_pending, { n: n }) : T.offline;
    else if (!n) text = T.online;
    else text = fmt(retryAt > Date.now() ? T.retry_pending : T.online_pending, { n: n });
    statusEl.textContent = text;
    statusEl.className = "net-status " + (online() ? "is-online" : "is-offline");
    root.dataset.pending = String(n);
  }

  function showCounts(counts) {
    if (!counts) return;
    Object.keys(counts).forEach(function (k) {
      var el = root.querySelector('[data-count="' + k + '"]');
      if (el && counts[k] !== null) el.textContent = counts[k];
    });
  }

  /* Feedback within a frame of the decode: a beep, a buzz and a coloured card with words. */
  var audio = null;
  function beep(ok) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.frequency.value = ok ? 880 : 220;
      gain.gain.value = 0.15;
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + (ok ? 0.12 : 0.35));
    } catch (e) { /* no audio: the card and vibration still show it */ }
    if (navigator.vibrate) navigator.vibrate(ok ? 80 : [120, 80, 120]);
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* Timings the door can be held to (feedback within 300 ms of a ticket in view): the
     browser tests read them with performance.getEntriesByType("mark"). */
  function mark(name, detail) {
    try { performance.mark(name, { detail: detail || null }); } catch (e) { /* old phone */ }
  }

  function showResult(kind, title, party, detail, token) {
    mark("scan:card:" + kind);
    resultEl.innerHTML = "";
    var card = el("div", "result-card is-" + kind);
    card.dataset.kind = kind;
    var icon = { ok: "✔", warn: "!", bad: "✖", wait: "…" }[kind] || "";
    var h = el("p", "result-title");
    h.appendChild(el("span", "result-icon", icon)).setAttribute("aria-hidden", "true");
    h.appendChild(document.createTextNode(" " + title));
    card.appendChild(h);
    if (party) {
      var name = el("p", "result-name", nameText(party));
      card.appendChild(name);
      var people = party.people || [];
      var categories = people.map(function (p) { return p.category_label || ""; })
        .filter(Boolean).join(LIST_SEP);
      card.appendChild(el("p", "", party.status === "cancelled" ? T.signup_cancelled :
        peopleText(people.length) + (categories ? " · " + categories : "")));
      var alerts = [];
      people.forEach(function (p) {
        (p.allergens || []).concat(p.diets || []).forEach(function (c) {
          var label = (party.labels && party.labels[c]) || c;
          if (alerts.indexOf(label) < 0) alerts.push(label);
        });
        if (p.note) alerts.push(p.note);
      });
      if (alerts.length) {
        var a = el("p", "alert-banner");
        a.appendChild(el("span", "alert-icon", "⚠")).setAttribute("aria-hidden", "true");
        a.appendChild(document.createTextNode(" " + T.allergy + ": " + alerts.join(LIST_SEP)));
        card.appendChild(a);
      }
      if (typeof party.amount_due === "number" && party.balance > 0) {
        card.appendChild(el("p", "result-due", fmt(T.due, { amount: yenText(party.balance) })));
      }
    }
    if (detail) card.appendChild(el("p", "", detail));
    if (token) {
      var link = el("a", "button", T.open_party);
      link.href = ticketUrl.replace("TOKEN", encodeURIComponent(token));
      card.appendChild(link);
    }
    resultEl.appendChild(card);
  }

  function tokenFrom(text) {
    var m = /\/c\/([A-Za-z0-9_-]{16,100})\/?(?:[?#].*)?$/.exec(text || "");
    if (m) return m[1];
    return null;
  }

  /* --- the server ------------------------------------------------------------------ */

  /* The answer as {status, data}; rejected when the network fails or nothing (headers and
     body) has come within POST_MS: the request is aborted, and the caller queues it. */
  function post(body) {
    var ctl = window.AbortController ? new AbortController() : null;
    var timer = null;
    var stalled = new Promise(function (_, reject) {
      timer = setTimeout(function () {
        if (ctl) ctl.abort();
        reject(new Error("timeout"));
      }, POST_MS);
    });
    var answered = fetch(checkinUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRFToken": csrf },
      body: JSON.stringify(body), signal: ctl ? ctl.signal : undefined
    }).then(function (r) {
      var wait = parseInt(r.headers.get("Retry-After") || "", 10);
      return r.json().catch(function () { return {}; }).then(function (data) {
        return { status: r.status, data: data || {}, retryAfter: wait > 0 ? wait : 0 };
      });
    });
    return Promise.race([answered, stalled]).then(function (res) {
      clearTimeout(timer); return res;
    }, function (e) { clearTimeout(timer); throw e; });
  }

  /* The server's own answer about this admission (admitted, or refused for good: a 403
     "forbidden" of our JSON will not change by sending it again, and must not hold up the
     scans queued behind it); anything else (a proxy's 502/504 or its own 403 page, an
     expired login, 429, a CSRF token gone stale) says nothing about the ticket, so it is
     kept and sent again with the same nonce. */
  function isFinal(res) {
    var code = (res.data && res.data.error && res.data.error.code) || "";
    if (res.status === 200 || res.status === 422) return true;
    if (res.status === 409 || res.status === 403) return !!code;
    if (res.status === 404) return code === "unknown_token";
    return false;
  }

  function loginAgain(show) {
    var note = document.getElementById("login-again");
    if (note) note.hidden = !show;
  }

  /* The server did not take the queue: try again after a growing pause (3 s … 1 min),
     or as long as the server asked (429's Retry-After). */
  function later(res) {
    retryDelay = Math.min(retryDelay ? retryDelay * 2 : RETRY_MIN_MS, RETRY_MAX_MS);
    var asked = Math.min(((res && res.retryAfter) || 0) * 1000, RETRY_AFTER_MAX_MS);
    retryAt = Date.now() + Math.max(retryDelay, asked);
    var code = (res && res.data && res.data.error && res.data.error.code) || "";
    if (res && res.status === 401) loginAgain(true);
    if (code === "csrf_failed") refreshList(); // the list's answer carries a fresh token
    showStatus();
  }

  function summaryFromApi(reg, labels) {
    return {
      registration_id: reg.id, status: reg.status,
      name: (reg.contact.family_name + " " + reg.contact.given_name).trim(),
      kana: (reg.contact.family_name_kana + " " + reg.contact.given_name_kana).trim(),
      amount_due: reg.amount_due, balance: reg.balance, labels: labels,
      people: reg.attendees.map(function (a) {
        return { id: a.id, category: a.category, category_label: a.category_label || "",
                 allergens: a.allergens, diets: a.diets, note: a.note,
                 checked_in: !!a.checked_in_at };
      })
    };
  }

  function refreshList() {
    if (!online()) return Promise.resolve();
    var parties = {};
    var labels = {};
    function page(n) {
      return fetch(listUrl + "?per_page=200&page=" + n, { credentials: "same-origin",
                                                           headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error("list " + r.status); return r.json(); })
        .then(function (data) {
          data.items.forEach(function (p) { parties[p.token] = p; });
          Object.assign(labels, data.labels || {});
          if (data.csrf_token) csrf = data.csrf_token;
          showCounts(data.counts);
          if (n * data.per_page < data.total) return page(n + 1);
        });
    }
    return page(1).then(function () {
      // people admitted offline here but not yet sent stay admitted in the cache
      var old = cache().parties;
      queue().forEach(function (item) {
        var party = parties[item.token];
        if (party && old[item.token]) {
          party.people = old[item.token].people;
          party.amount_due = old[item.token].amount_due; // and what they owe (admitOffline)
          party.balance = old[item.token].balance;
        }
      });
      save(CACHE_KEY, { parties: parties, labels: labels, saved_at: new Date().toISOString() });
      root.dataset.cached = String(Object.keys(parties).length);
    }).catch(function () { /* keep the old cache */ });
  }

  function flush() {
    if (sending || !online() || Date.now() < retryAt) { showStatus(); return Promise.resolve(); }
    var items = queue();
    if (!items.length) { showStatus(); return Promise.resolve(); }
    sending = true;
    showStatus();
    var item = items[0];
    return post(item).then(function (res) {
      sending = false;
      if (!isFinal(res)) {
        // a server error on this one scan must not hold up the others: it goes last
        if (res.status >= 500) {
          save(QUEUE_KEY, queue().filter(function (q) { return q.nonce !== item.nonce; })
            .concat([item]));
        }
        later(res);
        return;
      }
      // the server's answer (admitted, conflict logged, refused) leaves the queue
      retryDelay = 0; retryAt = 0;
      loginAgain(false);
      var rest = queue().filter(function (q) { return q.nonce !== item.nonce; });
      save(QUEUE_KEY, rest);
      if (res.status === 200) sent(item, res);
      else needsCheck(item, res.data.error || {});
      if (rest.length) return flush();
      showStatus();
      syncedCard();
      return refreshList();
    }, function () {
      sending = false;
      later(null);
    });
  }

  /* A queued admission the server took: the card still showing that scan says so. */
  function sent(item, res) {
    var c = cache();
    if (res.data.conflicts && res.data.conflicts.length) {
      showResult("warn", T.conflict, c.parties[item.token], null, item.token);
      return;
    }
    var card = resultEl.firstChild;
    if (card && card.dataset.nonce === item.nonce && res.data.registration) {
      showResult("ok", T.admitted, partyOf(res, c.parties[item.token], c.labels), null,
                 item.token);
      offlineCard(item.nonce);
    }
  }

  /* The last offline card, once everything is sent: 「あとで送信します」 is done. */
  function syncedCard() {
    var card = resultEl.firstChild;
    if (!card || !card.dataset.nonce || card.querySelector(".synced")) return;
    var title = card.querySelector(".result-title");
    if (card.dataset.kind === "ok") title.lastChild.textContent = " " + T.admitted;
    card.insertBefore(el("p", "synced", T.synced), title.nextSibling);
  }

  function offlineCard(nonce) {
    var card = resultEl.firstChild;
    if (card) card.dataset.nonce = nonce;
  }

  /* An offline scan the server refused once it was sent (a ticket for another event, one
     replaced or cancelled since the list was saved): listed for the volunteer until
     cleared, never dropped silently. */
  function needsCheck(item, err) {
    var c = cache();
    var party = c.parties[item.token];
    var entry = { nonce: item.nonce, code: err.code || "", reason: err.message || T.error,
                  name: party ? party.name : "", scanned_at: item.scanned_at };
    save(REVIEW_KEY, load(REVIEW_KEY, []).concat([entry]));
    showReview();
    beep(false);
    var card = resultEl.firstChild;
    if (card && card.dataset.nonce === item.nonce) {
      if (party) party.labels = c.labels;
      showResult("bad", entry.reason, party || null);
    }
  }

  var reviewEl = document.getElementById("needs-check");
  var reviewList = document.getElementById("needs-check-list");
  function timeOf(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? "" :
      d.toLocaleTimeString("ja-JP", { hour: "2-digit", minute: "2-digit" });
  }
  function showReview() {
    if (!reviewEl) return;
    var items = load(REVIEW_KEY, []);
    reviewList.innerHTML = "";
    items.forEach(function (r) {
      reviewList.appendChild(el("li", "", fmt(T.review_item, {
        name: r.name || T.review_unknown, time: timeOf(r.scanned_at), reason: r.reason })));
    });
    reviewEl.hidden = !items.length;
    root.dataset.review = String(items.length);
  }
  if (reviewEl) {
    document.getElementById("needs-check-clear").addEventListener("click", function () {
      save(REVIEW_KEY, []);
      showReview();
    });
  }

  function admitOffline(token, nonce) {
    var c = cache();
    var party = c.parties[token];
    var entry = { token: token, event_id: eventId, nonce: nonce, was_offline: true,
                  scanned_at: new Date().toISOString(), device: deviceId };
    if (!party) {
      save(QUEUE_KEY, queue().concat([entry]));
      showResult("warn", T.unknown_offline, null, null, null);
      offlineCard(nonce);
      beep(false);
      showStatus();
      return;
    }
    party.labels = c.labels;
    if (party.revoked) { showResult("bad", T.refused_revoked, party); beep(false); return; }
    if (party.status === "cancelled") { showResult("bad", T.refused_cancelled, party); beep(false); return; }
    if (party.status === "waitlisted") { showResult("bad", T.refused_waitlisted, party); beep(false); return; }
    var pending = party.people.filter(function (p) { return !p.checked_in; });
    if (!pending.length) { showResult("warn", T.already, party, null, token); beep(false); return; }
    pending.forEach(function (p) { p.checked_in = true; });
    // The saved balance counts only those admitted when the list was saved (0 before the
    // party came). With everyone in, the party owes expected_due less what it has paid, so
    // the cash is taken at an offline door too.
    if (typeof party.expected_due === "number") {
      var paid = party.amount_due - party.balance;
      party.amount_due = party.expected_due;
      party.balance = party.expected_due - paid;
    }
    save(CACHE_KEY, c);
    save(QUEUE_KEY, queue().concat([entry]));
    showResult("ok", T.admitted_offline, party, null, null);
    offlineCard(nonce);
    beep(true);
    showStatus();
  }

  function handle(text, decodeMs) {
    var token = tokenFrom(text);
    var now = Date.now();
    var code = token || text;
    // still in view: read again only once it has been out of view for REPEAT_MS
    if (code === lastCode && now - lastAt < REPEAT_MS) { lastAt = now; return; }
    lastCode = code; lastAt = now;
    mark("scan:decoded", { decode_ms: decodeMs || 0 });
    if (!token) { showResult("bad", T.not_a_ticket); beep(false); return; }
    admit(token);
  }

  /* One admission path for a scanned ticket and a party chosen from the search: through the
     API when online, into the queue when not (or when the network drops on the way). */
  function admit(token) {
    var nonce = randomId();
    var c = cache();
    var cached = c.parties[token];
    if (cached) cached.labels = c.labels;
    if (!online()) { admitOffline(token, nonce); return; }
    // feedback at once, before the server answers: the card, and a short buzz
    showResult("wait", T.checking, cached || null);
    if (navigator.vibrate) navigator.vibrate(30);
    post({ token: token, event_id: eventId, nonce: nonce, device: deviceId }).then(function (res) {
      if (res.status === 200) {
        var party = partyOf(res, cached, c.labels);
        showResult("ok", T.admitted, party, null, token);
        beep(true);
        if (cached) { c.parties[token] = Object.assign(cached, party); save(CACHE_KEY, c); }
        refreshCountsSoon();
      } else if (!isFinal(res) && res.status !== 403) {
        // a proxy's error, an expired login, too many requests: no answer about the ticket
        admitOffline(token, nonce);
        later(res);
      } else {
        var err = res.data.error || {};
        var kind = err.code === "already_checked_in" ? "warn" : "bad";
        showResult(kind, err.message || T.error, cached, null,
                   err.code === "unknown_token" ? null : token);
        beep(false);
      }
    }).catch(function () {
      // the network dropped mid-scan, or the request stalled: the same nonce is sent again
      // from the queue, so an admission the server did take is answered once
      admitOffline(token, nonce);
    });
  }

  /* The party of the API's answer for the card, with the names the saved list knows. */
  function partyOf(res, cached, labels) {
    var party = summaryFromApi(res.data.registration, labels);
    if (cached) party.name = cached.name || party.name;
    party.people.forEach(function (p) {
      var old = cached && cached.people &&
        cached.people.filter(function (q) { return q.id === p.id; })[0];
      if (!p.category_label) {
        p.category_label = (old && old.category_label) || feeLabels[p.category] ||
          p.category || "";
      }
    });
    return party;
  }

  var countsTimer = null;
  function refreshCountsSoon() {
    clearTimeout(countsTimer);
    countsTimer = setTimeout(refreshList, 1500);
  }

  /* --- the search for a party without its ticket ------------------------------------ */

  /* The door search runs on the phone, on the saved list, so that it works where the
     signal does not. Without this script the form goes to the server's door search. */
  var searchForm = document.getElementById("manual-form");
  var searchInput = document.getElementById("manual-q");
  var summaryEl = document.getElementById("manual-summary");
  var matchesEl = document.getElementById("manual-results");
  var SEARCH_LIMIT = 30; // as many as the server's search lists
  var PROBE_MS = 8000; // a door with poor signal: give up on the server and say so

  // variant kanji of family names by their everyday form (髙 → 高): NAME_VARIANTS of
  // gathering/japanese.py, sent with the page. A page saved by an older service worker may
  // lack them: then names are compared without.
  var variantsEl = document.getElementById("scanner-variants");
  var variants = variantsEl ? JSON.parse(variantsEl.textContent) : {};

  /* search_key of gathering/japanese.py: NFKC (ｶﾀｶﾅ and full-width Latin folded), wave
     dashes dropped, katakana as hiragana, lower case, no spaces, variant kanji folded; so
     やまだ finds ヤマダ and 高橋 finds 髙橋. */
  function searchKey(text) {
    var s = String(text || "");
    try { s = s.normalize("NFKC"); } catch (e) { /* no normalize(): compared as typed */ }
    s = s.replace(/[~\u301C\uFF5E\u3030]/g, "").replace(/[\u30A1-\u30F6\u30FD\u30FE]/g,
      function (ch) { return String.fromCharCode(ch.charCodeAt(0) - 0x60); });
    s = s.toLowerCase().replace(/\s+/g, "");
    return Array.from(s).map(function (ch) { return variants[ch] || ch; }).join("");
  }

  /* The last digits of a phone as the server reads them (normalize_phone). The saved list
     holds no phone numbers (no contact details leave the server), so only the server can
     answer these. */
  function isPhoneQuery(text) {
    var s = String(text || "");
    try { s = s.normalize("NFKC"); } catch (e) { /* as typed */ }
    s = s.replace(/[\s()\uFF08\uFF09\-\u2010-\u2015\u2212\u30FC\uFF70\uFF0D]/g, "");
    return /^(\+81)?\d{4,}$/.test(s);
  }

  /* Parties of the saved list matching a name, フリガナ or a person's name, like
     services.search: cancelled ones last (the list says so), then あいうえお order. */
  function searchCache(query) {
    var key = searchKey(query).slice(0, 60);
    if (!key) return [];
    var c = cache();
    var found = [];
    Object.keys(c.parties || {}).forEach(function (token) {
      var party = c.parties[token];
      var names = [party.name, party.kana].concat((party.people || []).map(function (p) {
        return p.name;
      }));
      if (names.some(function (n) { return n && searchKey(n).indexOf(key) >= 0; })) {
        var kana = searchKey(party.kana);
        found.push({ token: token, party: party,
                     order: [party.status === "cancelled" ? 1 : 0, kana ? 0 : 1,
                             kana || searchKey(party.name), party.registration_id || 0] });
      }
    });
    found.sort(function (a, b) {
      for (var i = 0; i < a.order.length; i++) {
        if (a.order[i] < b.order[i]) return -1;
        if (a.order[i] > b.order[i]) return 1;
      }
      return 0;
    });
    return found.slice(0, SEARCH_LIMIT);
  }

  function say(text) {
    // emptied first so that the same words after a second search are read out again
    summaryEl.textContent = "";
    setTimeout(function () { summaryEl.textContent = text; }, 50);
  }

  function clearMatches() {
    matchesEl.innerHTML = "";
    matchesEl.hidden = true;
    summaryEl.textContent = "";
  }

  function showMatches(found) {
    matchesEl.innerHTML = "";
    found.forEach(function (m) {
      var party = m.party;
      var people = party.people || [];
      var nIn = people.filter(function (p) { return p.checked_in; }).length;
      var li = el("li", "result" + (party.status !== "confirmed" ? " is-" + party.status : ""));
      var button = el("button", "manual-result");
      button.type = "button";
      button.appendChild(el("strong", "", party.name));
      if (party.kana) button.appendChild(el("span", "kana", party.kana));
      var meta = el("span", "hint", peopleText(people.length));
      if (T["status_" + party.status]) {
        meta.appendChild(document.createTextNode(" · "));
        meta.appendChild(el("span", "badge", T["status_" + party.status]));
      }
      if (nIn) {
        meta.appendChild(document.createTextNode(" · "));
        var state = meta.appendChild(el("span", "state-in"));
        state.appendChild(el("span", "", "✔")).setAttribute("aria-hidden", "true");
        state.appendChild(document.createTextNode(" " + fmt(T.n_in, { n: nIn, total: people.length })));
      }
      button.appendChild(meta);
      button.addEventListener("click", function () { choose(m.token); });
      li.appendChild(button);
      matchesEl.appendChild(li);
    });
    matchesEl.hidden = !found.length;
  }

  /* The card a scan of this party's ticket would show, before anyone is admitted: two
     families of the same name are told apart on it, then one tap admits like a scan. */
  function choose(token) {
    var c = cache();
    var party = c.parties[token];
    if (!party) return;
    party.labels = c.labels;
    var people = party.people || [];
    var nIn = people.filter(function (p) { return p.checked_in; }).length;
    var link = online() ? token : null; // the ticket screen needs the network
    var button = null;
    if (party.revoked) showResult("bad", T.refused_revoked, party);
    else if (party.status === "cancelled") showResult("bad", T.refused_cancelled, party, null, link);
    else if (party.status === "waitlisted") showResult("bad", T.refused_waitlisted, party, null, link);
    else if (nIn >= people.length) showResult("warn", T.already, party, null, link);
    else {
      showResult("found", nIn ? fmt(T.n_in, { n: nIn, total: people.length }) : T.not_in,
                 party, null, link);
      var card = resultEl.firstChild;
      button = el("button", "primary big", T.admit_party);
      button.type = "button";
      button.addEventListener("click", function () {
        clearMatches(); // what it said about the party is out of date once it is admitted
        admit(token);
        resultEl.focus(); // the button is gone with the card: stay where the answer is
      });
      card.insertBefore(button, card.querySelector("a"));
    }
    resultEl.scrollIntoView({ block: "start" });
    (button || resultEl).focus({ preventScroll: true });
  }

  if (searchForm) {
    searchForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var query = searchInput.value;
      if (!searchKey(query)) { clearMatches(); searchInput.focus(); return; }
      var found = searchCache(query);
      showMatches(found);
      if (found.length) { say(fmt(T.search_found, { n: found.length })); return; }
      var none = isPhoneQuery(query) ? T.search_no_phone : T.search_none;
      if (!online()) { say(none); return; }
      // Not in the saved list: the server knows the phone numbers and anyone who signed up
      // since. It is asked first, because a navigation the weak signal cannot carry leaves
      // the browser's error page where the scanner was.
      var url = searchForm.action + "?" + new URLSearchParams(new FormData(searchForm));
      var ctl = window.AbortController ? new AbortController() : null;
      var timer = setTimeout(function () { if (ctl) ctl.abort(); }, PROBE_MS);
      fetch(url, { credentials: "same-origin", signal: ctl ? ctl.signal : undefined })
        .then(function () { clearTimeout(timer); location.assign(url); })
        .catch(function () { clearTimeout(timer); say(none); });
    });
  }

  /* --- the camera -------------------------------------------------------------------- */

  var scanning = false;
  function tick() {
    if (!scanning) return;
    if (video.readyState >= 2 && video.videoWidth) {
      var scale = Math.min(1, 640 / video.videoWidth);
      var w = Math.round(video.videoWidth * scale);
      var h = Math.round(video.videoHeight * scale);
      if (canvas.width !== w) { canvas.width = w; canvas.height = h; }
      ctx.drawImage(video, 0, 0, w, h);
      var started = window.performance ? performance.now() : 0;
      var img = ctx.getImageData(0, 0, w, h);
      var code = window.jsQR(img.data, w, h, { inversionAttempts: "dontInvert" });
      if (code && code.data) {
        handle(code.data, window.performance ? performance.now() - started : 0);
      }
    }
    setTimeout(tick, 100);
  }

  function startCamera() {
    if (typeof window.jsQR !== "function") { messageEl.textContent = T.no_decoder; return; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      messageEl.textContent = T.no_camera; return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (stream) {
        video.hidden = false;
        video.srcObject = stream;
        startBtn.hidden = true;
        return video.play();
      })
      .then(function () { if (!scanning) { scanning = true; tick(); } })
      .catch(function () {
        messageEl.textContent = T.no_camera;
        startBtn.hidden = false;
        video.hidden = true;
      });
  }

  startBtn.addEventListener("click", startCamera);
  window.addEventListener("online", function () { retryAt = 0; showStatus(); flush(); });
  window.addEventListener("offline", showStatus);
  setInterval(function () { showStatus(); if (queue().length) flush(); }, 3000);
  setInterval(function () { if (!queue().length) refreshList(); }, 60000);

  if ("serviceWorker" in navigator && root.dataset.swUrl) {
    navigator.serviceWorker.register(root.dataset.swUrl, { scope: "/door/" })
      .then(function () { return navigator.serviceWorker.ready; })
      .then(function () {
        // keep this very page for a reload without network (the worker serves it)
        return window.caches && caches.open("tsudoi-door-v1").then(function (c) {
          return c.add(location.pathname);
        });
      })
      .then(function () { root.dataset.offlineReady = "1"; })
      .catch(function () {});
  }
  showStatus();
  showReview();
  refreshList().then(flush);
  startCamera();

  window.tsudoiScanner = { handle: handle, flush: flush, queue: queue, cache: cache,
                           search: searchCache,
                           retryAt: function () { return retryAt; } };
})();

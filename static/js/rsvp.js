/* Sign-up form: "add a person" without a round trip, and the seat warnings and the count
   of people as the party grows. The form works the same without this file (the buttons
   post back and the page comes back with the same warnings, rendered by the server). */
(function () {
  "use strict";
  var form = document.querySelector("form[data-party-form]");
  if (!form) return;
  var party = form.querySelector("fieldset.party");
  var add = party && party.querySelector("button[name=add_person]");
  if (!add) return;
  var data = form.dataset;
  var max = parseInt(data.max, 10);
  var left = data.seatsLeft ? parseInt(data.seatsLeft, 10) : null;
  var capacity = data.capacity ? parseInt(data.capacity, 10) : null;
  var ATTRS = ["name", "id", "for", "aria-describedby"];

  function rows() { return party.querySelectorAll("fieldset.person"); }

  function counted(one, many, n) {
    return ((n === 1 && one) ? one : many).replace("{n}", n);
  }

  function show(selector, visible) {
    var el = form.querySelector(selector);
    if (el) el.hidden = !visible;
  }

  function update() {
    var n = rows().length;
    party.querySelector("legend").textContent = counted(data.legendOne, data.legendMany, n);
    var count = form.querySelector("[data-party-count]");
    if (count && data.countMany) count.textContent = counted(data.countOne, data.countMany, n);
    // as rsvp.services.register decides: more than the event's seats in all is refused,
    // more than the seats left goes on the waiting list
    var tooLarge = capacity !== null && n > capacity;
    show("[data-too-large]", tooLarge);
    show("[data-seats-full]", !tooLarge);
    show("[data-seats-short]", left !== null && n > left && !tooLarge);
    add.hidden = n >= max;
    party.querySelectorAll("button[name=remove_person]").forEach(function (b) {
      b.hidden = n < 2;
    });
  }

  // The number for a new row's field names: one above the highest on the form. After a
  // person was removed (a round trip) the numbers have a gap, so the count of rows may
  // be the number of a row still there, and two rows would share their fields.
  function nextNumber() {
    var top = -1;
    party.querySelectorAll("[name^='attendees-']").forEach(function (el) {
      var m = /^attendees-(\d+)-/.exec(el.getAttribute("name"));
      if (m) top = Math.max(top, parseInt(m[1], 10));
    });
    return top + 1;
  }

  add.addEventListener("click", function (event) {
    var all = rows();
    var i = all.length;
    if (i >= max) return;
    event.preventDefault();
    var number = nextNumber();
    var row = all[i - 1].cloneNode(true);
    row.querySelectorAll("*").forEach(function (el) {
      ATTRS.forEach(function (a) {
        var v = el.getAttribute(a);
        if (v) el.setAttribute(a, v.replace(/attendees-\d+-/g, "attendees-" + number + "-"));
      });
    });
    row.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (el.type === "checkbox") el.checked = false;
      else if (el.tagName === "SELECT") el.selectedIndex = 0;
      else el.value = "";
      el.removeAttribute("aria-invalid");
      el.removeAttribute("autofocus");
    });
    row.querySelectorAll(".error").forEach(function (el) { el.remove(); });
    row.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
    row.classList.remove("has-error");
    row.querySelectorAll("details").forEach(function (d) { d.open = false; });
    row.querySelector("legend").textContent = data.person.replace("{n}", i + 1);
    var remove = row.querySelector("button[name=remove_person]");
    if (remove) {
      remove.value = String(i);
      remove.textContent = data.remove.replace("{n}", i + 1);
    }
    all[i - 1].after(row);
    update();
    var first = row.querySelector("select, input:not([type=hidden])");
    if (first) first.focus();
  });
})();

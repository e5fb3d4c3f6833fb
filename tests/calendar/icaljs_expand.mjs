// Expand an iCalendar document the way Thunderbird does, with Mozilla's ical.js parser.
// Usage: node icaljs_expand.mjs FROM_ISO TO_ISO < feed.ics  → JSON lines of occurrences.
// Run by test_calendar_mozilla.py; ical.js comes from the npm registry (package.json).
import fs from "node:fs";
import ICAL from "ical.js";

const [from, to] = process.argv.slice(2);
const root = new ICAL.Component(ICAL.parse(fs.readFileSync(0, "utf8")));
// Thunderbird registers the calendar's own VTIMEZONEs; a TZID without one is floating.
for (const tz of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(tz);
}
const windowStart = ICAL.Time.fromJSDate(new Date(from), true);
const windowEnd = ICAL.Time.fromJSDate(new Date(to), true);
const masters = new Map();
const overrides = [];
for (const comp of root.getAllSubcomponents("vevent")) {
  if (comp.hasProperty("recurrence-id")) overrides.push(comp);
  else masters.set(comp.getFirstPropertyValue("uid"), comp);
}
const out = [];
function push(start, end, status) {
  if (end.compare(windowStart) <= 0 || start.compare(windowEnd) >= 0) return;
  out.push({
    start: start.toJSDate().toISOString(),
    end: end.toJSDate().toISOString(),
    status: status || "CONFIRMED",
    tzid: start.zone ? start.zone.tzid : null,
  });
}
for (const [uid, comp] of masters) {
  const event = new ICAL.Event(comp);
  for (const o of overrides) {
    if (o.getFirstPropertyValue("uid") === uid) event.relateException(o);
  }
  if (!event.isRecurring()) {
    push(event.startDate, event.endDate, comp.getFirstPropertyValue("status"));
    continue;
  }
  const it = event.iterator();
  for (let next = it.next(); next; next = it.next()) {
    if (next.compare(windowEnd) > 0) break;
    const d = event.getOccurrenceDetails(next);
    push(d.startDate, d.endDate, d.item.component.getFirstPropertyValue("status"));
  }
}
for (const line of out) console.log(JSON.stringify(line));

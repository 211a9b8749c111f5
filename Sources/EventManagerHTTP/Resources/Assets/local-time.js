// Adds the visitor's own time beside each <time data-local>, when it differs from the event's zone.
// The page works without it; the server already wrote the time in the event's zone.
for (const element of document.querySelectorAll("time[data-local]")) {
  const instant = new Date(element.getAttribute("datetime"));
  if (isNaN(instant)) continue;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone === element.dataset.zone) continue;
  const text = instant.toLocaleString(undefined, { dateStyle: "full", timeStyle: "short" });
  const note = document.createElement("span");
  note.className = "meta";
  note.textContent = " (" + text + " your time)";
  element.after(note);
}

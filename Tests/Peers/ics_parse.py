#!/usr/bin/env python3
"""Parses iCalendar objects with the icalendar package (not our code) and prints what they say.

  ics_parse.py FILE...

Each FILE is an .ics, or an .eml whose text/calendar parts are taken. Prints one JSON list,
one object per calendar: its METHOD, NAME, REFRESH-INTERVAL and events (UID, SEQUENCE, start
as ISO 8601, SUMMARY, LOCATION, STATUS, URL, ORGANIZER, ATTENDEEs and each VALARM's minutes
before the start). Exits non-zero if any object does not parse.
"""
import email, email.policy, json, sys

import icalendar


def calendars(path):
    data = open(path, "rb").read()
    if path.endswith(".eml"):
        message = email.message_from_bytes(data, policy=email.policy.default)
        return [part.get_payload(decode=True) for part in message.walk() if part.get_content_type() == "text/calendar"]
    return [data]


def describe(raw):
    calendar = icalendar.Calendar.from_ical(raw)
    events = []
    for event in calendar.walk("VEVENT"):
        start = event.decoded("DTSTART")
        alarms = []
        for alarm in event.walk("VALARM"):
            trigger = alarm.decoded("TRIGGER")
            alarms.append(int(-trigger.total_seconds() // 60))
        events.append({
            "uid": str(event.get("UID")),
            "sequence": int(event.get("SEQUENCE", 0)),
            "start": start.isoformat(),
            "summary": str(event.get("SUMMARY")),
            "location": str(event.get("LOCATION")),
            "status": str(event.get("STATUS")),
            "url": str(event.get("URL")) if event.get("URL") else None,
            "organizer": str(event.get("ORGANIZER")) if event.get("ORGANIZER") else None,
            "attendees": [str(a) for a in (event.get("ATTENDEE") if isinstance(event.get("ATTENDEE"), list) else [event.get("ATTENDEE")] if event.get("ATTENDEE") else [])],
            "alarms": alarms,
        })
    return {
        "method": str(calendar.get("METHOD")) if calendar.get("METHOD") else None,
        "name": str(calendar.get("NAME")) if calendar.get("NAME") else None,
        "refresh": str(calendar.get("REFRESH-INTERVAL").to_ical().decode()) if calendar.get("REFRESH-INTERVAL") else None,
        "events": events,
    }


print(json.dumps([describe(raw) for path in sys.argv[1:] for raw in calendars(path)]))

#!/usr/bin/env python3
"""A person with a browser: headless Chromium from Debian, driven by Playwright.

  browser.py BINARY SCREENSHOT_DIR

Starts the SMTP peer of the tests (aiosmtpd) and the service (double opt-in on, mail over SMTP
to the peer), creates a few events, then, as a visitor would: opens the list, searches, opens
an event, subscribes with a bad and then a good address, follows the confirmation link from the
email the peer caught, confirms, follows the unsubscribe link and unsubscribes; subscribes to
another event with the keyboard only; and checks the pages at phone width. Saves a screenshot
of each page at phone and desktop width into SCREENSHOT_DIR. Exits non-zero on any failure.
"""
import json, os, re, socket, subprocess, sys, tempfile, time, urllib.request

from playwright.sync_api import expect, sync_playwright

binary, shots = os.path.realpath(sys.argv[1]), os.path.realpath(sys.argv[2])
os.makedirs(shots, exist_ok=True)
root = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
work = tempfile.mkdtemp(prefix="em-browser-")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


peer = subprocess.Popen(
    [sys.executable, os.path.join(root, "Tests/Peers/smtp_peer.py"), "--dir", os.path.join(work, "mail")], stdout=subprocess.PIPE, text=True)
smtp_port = int(peer.stdout.readline().split()[1])
port = free_port()
base = f"http://127.0.0.1:{port}"
server = subprocess.Popen(
    [binary, "serve", "--app-port", str(port), "--app-public-url", base, "--auth-mode", "disabled", "--mail-transport", "smtp",
     "--smtp-port", str(smtp_port), "--subscriptions-confirm", "true", "--reminders-poll-interval-ms", "200",
     "--rate-limit-enabled", "false"],
    cwd=work, stdout=open(os.path.join(work, "server.log"), "w"), stderr=subprocess.STDOUT)
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def api(method, path, body=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"null")


def mail_for(address, timeout=30):
    """The text part of the newest message the peer accepted for `address`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        directory = os.path.join(work, "mail")
        for name in sorted(os.listdir(directory) if os.path.isdir(directory) else [], reverse=True):
            if name.endswith(".json"):
                message = json.load(open(os.path.join(directory, name)))
                if address in message["rcpt_tos"]:
                    return next(p["content"] for p in message["parts"] if p["content_type"] == "text/plain")
        time.sleep(0.2)  # polling another process's directory: there is no event to await
    raise TimeoutError(f"no mail for {address}")


def shoot(page, name):
    page.screenshot(path=os.path.join(shots, f"{name}.png"), full_page=True)


def no_horizontal_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def unlabelled_controls(page):
    return page.evaluate("""[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(e => !(e.id && document.querySelector(`label[for="${e.id}"]`)) && !e.closest('label')).length""")


try:
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/health")
            break
        except OSError:
            time.sleep(0.1)  # the server is starting: nothing to await but its port
    api("POST", "/events", {"title": "Swift launch, part 1; \"Große Halle\"", "location": "Hall A, Floor 2",
                            "date": "2031-03-10T18:30:00+01:00", "timezone": "Europe/Paris"})
    api("POST", "/events", {"title": "Keyboard meetup", "location": "Room 3", "date": "2031-03-12"})
    api("POST", "/events", {"title": "Gardening club", "location": "Park", "date": "2031-04-01T09:00:00Z"})

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for width, height, label in ((1280, 800, "desktop"), (390, 844, "phone")):
            context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=label == "phone")
            page = context.new_page()
            page.goto(base + "/")
            check(page.locator("html").get_attribute("lang") == "en", f"{label}: the page says its language")
            expect(page.get_by_role("link", name=re.compile("Gardening club"))).to_be_visible()
            check(no_horizontal_scroll(page), f"{label}: the list fits the width")
            check(unlabelled_controls(page) == 0, f"{label}: every control of the list has a label")
            shoot(page, f"list-{label}")
            page.get_by_label("Search").fill("launch")
            page.get_by_role("button", name="Search").click()
            expect(page.get_by_role("link", name=re.compile("Swift launch"))).to_be_visible()
            check(page.get_by_role("link", name=re.compile("Gardening")).count() == 0, f"{label}: search narrows the list")
            page.get_by_role("link", name=re.compile("Swift launch")).click()
            expect(page.get_by_role("heading", level=1)).to_have_text('Swift launch, part 1; "Große Halle"')
            check("(Europe/Paris)" in page.locator("time").first.inner_text(), f"{label}: the start is shown in the event's zone")
            check(no_horizontal_scroll(page), f"{label}: the event page fits the width")
            check(unlabelled_controls(page) == 0, f"{label}: every control of the form has a label")
            shoot(page, f"event-{label}")
            address = f"ann-{label}@example.com"
            page.get_by_label("Email address").fill("ann-at-example.com")
            page.get_by_role("button", name="Subscribe").click()
            expect(page.locator("#email-error")).to_be_visible()
            check(page.get_by_label("Email address").input_value() == "ann-at-example.com", f"{label}: the bad value is kept")
            check(page.get_by_label("Email address").get_attribute("aria-invalid") == "true", f"{label}: the field is marked invalid")
            shoot(page, f"invalid-{label}")
            page.get_by_label("Email address").fill(address)
            page.get_by_label("Remind me").select_option(label="1 hour before")
            page.get_by_role("button", name="Subscribe").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
            shoot(page, f"check-inbox-{label}")

            text = mail_for(address)
            check(re.search(r"webcal://\S+/calendar/[0-9a-f]{44}\.ics", text) is not None, f"{label}: the email links the personal calendar")
            check(f"{base}/e/1" in text, f"{label}: the email links the event page")
            confirm = re.search(r"http://\S+/confirm\?token=\S+", text).group(0)
            unsubscribe = re.search(r"http://\S+/unsubscribe\?token=\S+", text).group(0)
            page.goto(confirm)
            shoot(page, f"confirm-{label}")
            page.get_by_role("button", name="Confirm").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Confirmed")
            shoot(page, f"confirmed-{label}")
            page.goto(unsubscribe)
            page.get_by_role("button", name="Unsubscribe").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Unsubscribed")
            shoot(page, f"unsubscribed-{label}")
            page.goto(base + "/e/999")
            expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
            context.close()

        # Keyboard only: Tab to the field, type, choose, submit with Enter.
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(base + "/e/2")
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "email":
                break
        check(page.evaluate("document.activeElement.id") == "email", "keyboard: Tab reaches the email field")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        check(outline not in ("none", ""), f"keyboard: the focused field shows a focus ring ({outline})")
        page.keyboard.type("kim@example.com")
        page.keyboard.press("Tab")
        check(page.evaluate("document.activeElement.id") == "minutes", "keyboard: Tab goes on to the reminder choice")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
        check("confirm?token=" in mail_for("kim@example.com"), "keyboard: the confirmation email arrived")
        context.close()
        browser.close()
finally:
    server.terminate()
    peer.terminate()
    server.wait(timeout=30)
if failures:
    print(f"{len(failures)} browser checks failed; server log in {work}/server.log")
    sys.exit(1)
print(f"browser: all checks passed; screenshots in {shots}")

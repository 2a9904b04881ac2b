"""Enrolment that doesn't silently break: the pending key survives a reload."""

from __future__ import annotations

from tests.web.pages.conftest import SECRET, Site


def test_reloading_the_key_page_keeps_the_key_until_start_over(site: Site) -> None:
    site.register()
    site.login()
    site.verify()
    started = site.submit("/enroll", {"device_name": "Phone"}, form_page="/enroll")
    assert started.headers["location"] == "/enroll"  # the key page is a GET: reloads are safe
    first = site.client.get("/enroll")
    key = SECRET.search(first.text)
    assert key is not None
    reloaded = site.client.get("/enroll")
    again = SECRET.search(reloaded.text)
    assert again is not None and again.group(1) == key.group(1)
    assert "robin@example.com" in reloaded.text and "data-app-preview" in reloaded.text
    assert "phone-only" in reloaded.text  # the otpauth link is for phones only
    restarted = site.start_enrolment()
    fresh = SECRET.search(restarted.text)
    assert fresh is not None and fresh.group(1) != key.group(1)

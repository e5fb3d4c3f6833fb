"""The API's messages say the same in Japanese as in English."""

from __future__ import annotations


def test_a_reversed_date_range_says_the_same_day_is_fine(client):
    japanese = client.get("/api/v1/events?from=2026-12-12&to=2026-12-11").get_json()
    assert japanese["error"]["code"] == "bad_date"
    assert japanese["error"]["message"] == (
        "to は from と同じ日か、それより後の日付にしてください。")
    english = client.get("/api/v1/events?from=2026-12-12&to=2026-12-11",
                         headers={"Accept-Language": "en"}).get_json()
    assert english["error"]["message"] == "'to' must not be before 'from'."
    same_day = client.get("/api/v1/events?from=2026-12-12&to=2026-12-12")
    assert same_day.status_code == 200

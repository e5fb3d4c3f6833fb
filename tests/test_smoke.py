def test_home_page_lists_published_events_in_japanese(client, make_event):
    make_event(title="あさひかわ子ども食堂")
    make_event(title="下書きのイベント", status="draft")
    page = client.get("/").get_data(as_text=True)
    assert "あさひかわ子ども食堂" in page
    assert "下書きのイベント" not in page

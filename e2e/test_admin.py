import re

from campaign.demo import DEMO_PASSWORD, SITES
from e2e.conftest import log_in, screenshot


def test_the_office_sees_the_22_villages_under_their_sites_in_the_admin(page, live_server, demo):
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    page.goto(f"{live_server.url}/admin/campaign/village/")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 22
    for site_name, _short, _address, _capacity, _user, villages in SITES:
        for village_name, _population in villages:
            row = rows.filter(has=page.locator("th", has_text=re.compile(f"^{village_name}$")))
            assert site_name in row.inner_text()
    assert "村（社区）" in page.content()  # the admin speaks Chinese too
    screenshot(page, "admin-villages")

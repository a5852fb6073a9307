"""The hosted page in headless Chromium: axe-core finds nothing, on a phone and a desktop."""

import shutil

import pytest

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


async def audit(page, axe) -> None:
    results = await axe.run(page)
    assert results.violations_count == 0, results.generate_report()
    fits = await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, "page scrolls sideways"


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
async def test_hosted_page_states_pass_axe(create_session, base_url):
    playwright_api = pytest.importorskip("playwright.async_api")
    axe = pytest.importorskip("axe_playwright_python.async_playwright").Axe()
    success = f"{base_url}/?session_id={{CHECKOUT_SESSION_ID}}"
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM)
        try:
            page = await browser.new_page(viewport=DESKTOP)
            session = await create_session(success_url=success)
            await page.goto(session.url)
            assert await page.title()
            await audit(page, axe)
            await page.set_viewport_size(PHONE)
            await audit(page, axe)

            await page.get_by_label("Card number").fill("4000 0000 0000 0002")
            await page.get_by_role("button", name="Pay", exact=True).click()
            alert = page.get_by_role("alert")
            await alert.wait_for()
            assert "Your card was declined." in await alert.inner_text()
            await audit(page, axe)

            await page.get_by_label("Card number").fill("4242 4242 4242 4242")
            await page.get_by_label("Expiry").fill("12 / 34")
            await page.get_by_role("button", name="Pay", exact=True).click()
            await page.wait_for_url(f"{base_url}/?session_id={session.id}")

            await page.goto(session.url)
            await page.get_by_text("This checkout session is no longer available").wait_for()
            await audit(page, axe)
        finally:
            await browser.close()

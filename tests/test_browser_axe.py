"""The accessibility check every browser test runs (tests/axe.py) does find violations."""

import pytest

from tests.axe import AxeWatch

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_axe_checks_each_page_as_it_loads_and_reports_what_breaks_wcag(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    axe = AxeWatch(context, shapes_seen=set())  # this test's own, whatever ran before
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.wait_for_function("window.__axeRunning !== undefined")
        page.evaluate("() => window.__axeRunning")
        assert axe.pages_checked == 1
        axe.assert_clean()  # our login page passes

        # The same screen again is not checked again; another screen is.
        visits = [("/accounts/login/", 1, 1), ("/accounts/password/reset/", 2, 1)]
        for path, checked, skipped in visits:
            page.goto(path)
            page.wait_for_function("window.__axeRunning !== undefined")
            page.evaluate("() => window.__axeRunning")
            assert (axe.pages_checked, axe.pages_skipped) == (checked, skipped), path

        # An image with no text alternative and a button with no name: both WCAG A failures.
        page.evaluate(
            """() => { document.querySelector('main').insertAdjacentHTML('beforeend',
                 '<img src="/static/portal/favicon.svg"><button type="button"></button>'); }"""
        )
        axe.check_now(page)
    finally:
        context.close()
    with pytest.raises(AssertionError) as failure:
        axe.assert_clean()
    assert "/accounts/password/reset/: image-alt (critical)" in str(failure.value)
    assert "/accounts/password/reset/: button-name (critical)" in str(failure.value)

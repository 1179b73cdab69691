"""The dashboard in Debian's headless Chromium: a served hub shows a freshly published version,
a device that just checked in and the D0 accuracy of its update; the page is kept as a
screenshot."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from edgekit.device.hub_update import update_body
from edgekit.device.learner import Learner
from tests.bundle_fixture import BuiltBundle
from tests.server.hub.served import free_port, start_hub, upload_bundle

pytestmark = pytest.mark.slow
ADMIN = "admin-token-for-the-dashboard"


def _browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    # small /dev/shm in containers crashes Chromium unless it writes to /tmp instead
    for flag in (
        "--headless=new",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1200,900",
    ):
        options.add_argument(flag)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def test_the_dashboard_shows_a_new_version_and_a_device_that_checked_in(
    built: BuiltBundle, tmp_path: Path
) -> None:
    port = free_port()
    hub = start_hub(tmp_path, f"sqlite:///{tmp_path / 'hub.sqlite3'}", port, ADMIN)
    base, admin = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {ADMIN}"}
    browser = None
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            shas = upload_bundle(client, built.path, admin)
            body = {"family": "kws", "architecture": "tcresnet", "files": shas}
            assert client.post("/v1/admin/versions", json=body, headers=admin).status_code == 201
            release = {"channel": "beta", "family": "kws", "architecture": "tcresnet", "number": 1}
            client.post("/v1/admin/releases", json={**release, "percent": 25}, headers=admin)
            device = client.post("/v1/devices", json={"family": "kws", "architecture": "tcresnet"})
            me = {"Authorization": f"Bearer {device.json()['token']}"}
            report = {"bundle_version": 1, "accuracy": 0.875}
            assert client.post("/v1/devices/check-in", json=report, headers=me).is_success
            with Learner(built.path, tmp_path / "device", read_only=True) as learner:
                update = update_body(learner)
                hits = learner.probabilities(learner.d0_features).argmax(1) == learner.d0_labels
            url = "/v1/devices/updates?version=1&examples=4"
            assert client.post(url, content=update, headers=me).status_code == 202
            assert client.get("/dashboard").status_code == 401  # no token, no page

        browser = _browser()
        browser.get(f"{base}/dashboard/login?token={ADMIN}")
        assert browser.title == "edgekit hub"
        version = browser.find_element(By.CSS_SELECTOR, "#versions tr.version").text
        assert "kws/tcresnet" in version and "beta 25%" in version and "87.5% (1)" in version
        assert f"{100 * hits.mean():.1f}% (1)" in version  # D0 accuracy of its one update
        row = browser.find_element(By.CSS_SELECTOR, "#devices tr.device").text
        assert device.json()["device_id"] in row and "never" not in row
        assert browser.find_element(By.ID, "updates-chart").is_displayed()
        browser.save_screenshot(str(tmp_path / "dashboard.png"))
        assert (tmp_path / "dashboard.png").stat().st_size > 1000
    finally:
        if browser is not None:
            browser.quit()
        hub.send_signal(signal.SIGTERM)
        hub.wait(timeout=30)

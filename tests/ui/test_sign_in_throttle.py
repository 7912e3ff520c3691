"""Failed sign-ins are throttled with growing waits, unknown names exactly like real ones."""

from __future__ import annotations

import pytest
from ui_helpers import error_messages, sign_in

from workbench.ui.auth import SignInThrottled, Throttle
from workbench.ui.auth import sign_in as auth_sign_in


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_waits_start_after_the_free_failures_and_double_up_to_the_cap():
    clock = FakeClock()
    throttle = Throttle(free_failures=2, base_s=2.0, max_s=5.0, clock=clock)
    waits = []
    for _ in range(5):
        throttle.failed("Ann")
        waits.append(throttle.wait_s("ann"))
    assert waits == [0.0, 0.0, 2.0, 4.0, 5.0]
    clock.now = 5.0
    assert throttle.wait_s("ann") == 0.0
    throttle.succeeded("ann")
    throttle.failed("ann")
    assert throttle.wait_s("ann") == 0.0


@pytest.mark.parametrize("username", ["ann", "nobody"])
def test_a_throttled_name_is_refused_without_checking_the_password(app_db, username):
    throttle = Throttle(free_failures=1, base_s=30.0)
    assert auth_sign_in(app_db, username, "wrong-password", throttle=throttle) is None
    assert auth_sign_in(app_db, username, "wrong-password", throttle=throttle) is None
    with pytest.raises(SignInThrottled, match="try again in 30 s"):
        auth_sign_in(app_db, username, "annotator-password-1", throttle=throttle)


def test_the_sign_in_page_throttles_repeated_failures(new_app):
    at = new_app()
    for _ in range(5):  # three free failures, a fourth that starts a wait, a fifth within it
        at = sign_in(at, "nobody", "wrong-password")
    assert error_messages(at)[0].startswith("Too many failed sign-ins")

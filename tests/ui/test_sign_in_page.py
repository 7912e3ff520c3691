"""Signing in and out, and who may not."""

from __future__ import annotations

from ui_helpers import error_messages, sign_in

from workbench.store import users
from workbench.ui.auth import SIGN_IN_FAILED
from workbench.ui.session import DEACTIVATED_NOTICE, USER_ID_KEY


def _titles(at) -> list[str]:
    return [title.value for title in at.title]


def test_signing_in_opens_the_home_page_and_signing_out_returns_to_sign_in(signed_in):
    at = signed_in("ann")
    assert _titles(at) == ["Label"]  # an annotator's home
    assert "ann" in at.sidebar.caption[0].value

    at.button(key="sign_out").click().run()

    assert _titles(at) == ["Sign in"]
    assert USER_ID_KEY not in at.session_state


def test_a_wrong_password_and_an_unknown_user_get_the_same_message(new_app):
    wrong_password = sign_in(new_app(), "ann", "not-the-password")
    unknown_user = sign_in(new_app(), "nobody", "whatever-password")

    for at in (wrong_password, unknown_user):
        assert error_messages(at) == [SIGN_IN_FAILED]
        assert _titles(at) == ["Sign in"]
        assert USER_ID_KEY not in at.session_state


def test_a_deactivated_user_cannot_sign_in(app_db, new_app):
    with app_db.write() as session:
        users.set_active(session, users.get_user(session, "ann"), False)

    at = sign_in(new_app(), "ann")

    assert error_messages(at) == [SIGN_IN_FAILED]
    assert USER_ID_KEY not in at.session_state


def test_a_user_deactivated_while_signed_in_is_signed_out_on_the_next_run(app_db, signed_in):
    at = signed_in("ann")
    with app_db.write() as session:
        users.set_active(session, users.get_user(session, "ann"), False)

    at.run()

    assert _titles(at) == ["Sign in"]
    assert [info.value for info in at.info] == [DEACTIVATED_NOTICE]
    assert USER_ID_KEY not in at.session_state

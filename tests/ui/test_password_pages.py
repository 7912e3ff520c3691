"""The forced change of a one-time password, and changing one's own password on the account page."""

from __future__ import annotations

import pytest
from ui_helpers import error_messages, sign_in

from workbench.store import users

ONE_TIME = "one-time-pass"
NEW = "my-own-password"


def _change(at, new: str, repeated: str, current: str | None = None):
    if current is not None:
        at.text_input(key="password_current").input(current)
    at.text_input(key="password_new").input(new)
    at.text_input(key="password_repeat").input(repeated)
    return at.button(key="password_submit").click().run()


def _password_works(db, username: str, password: str) -> bool:
    with db.write() as session:
        return users.authenticate(session, username, password) is not None


@pytest.fixture
def first_lead(app_db):
    with app_db.write() as session:
        users.add_user(session, "boss", ONE_TIME, "lead", must_change_password=True)
    return app_db


def test_a_one_time_password_must_be_replaced_before_anything_else(first_lead, new_app):
    at = sign_in(new_app(), "boss", ONE_TIME)
    assert [title.value for title in at.title] == ["Choose a new password"]
    with pytest.raises(ValueError):  # no other page is registered, so none can be opened
        at.switch_page("views/overview.py")

    refusals = {
        "differ": (NEW, NEW + "x"),
        "at least 8 characters": ("short", "short"),
        "different from the current one": (ONE_TIME, ONE_TIME),
    }
    for reason, (new, repeated) in refusals.items():
        at = _change(at, new, repeated)
        assert len(at.error) == 1 and reason in at.error[0].value
        assert [title.value for title in at.title] == ["Choose a new password"]
    assert _password_works(first_lead, "boss", ONE_TIME)

    at = _change(at, NEW, NEW)

    assert [title.value for title in at.title] == ["Overview"]
    assert "Your password was changed." in [info.value for info in at.info]
    assert _password_works(first_lead, "boss", NEW)
    assert not _password_works(first_lead, "boss", ONE_TIME)
    with first_lead.read() as session:
        assert not users.get_user(session, "boss").must_change_password


def test_the_account_page_changes_my_password_after_checking_the_current_one(app_db, signed_in):
    at = signed_in("ann")
    at.switch_page("views/account.py").run()
    assert [title.value for title in at.title] == ["Account"]

    at = _change(at, NEW, NEW, current="not-my-password")
    assert error_messages(at) == ["The current password is wrong."]
    assert not _password_works(app_db, "ann", NEW)

    at = _change(at, NEW, NEW, current="annotator-password-1")
    assert "Your password was changed." in [info.value for info in at.info]
    assert _password_works(app_db, "ann", NEW)

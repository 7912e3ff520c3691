"""The leads' user administration page, and that annotators cannot reach it."""

from __future__ import annotations

import pytest
from ui_helpers import sign_in

from workbench.store import users

ADMIN_PAGE = "views/admin.py"


@pytest.fixture
def admin(signed_in):
    at = signed_in("lead1")
    at.switch_page(ADMIN_PAGE).run()
    assert not at.exception, at.exception
    return at


def _user(db, name):
    with db.read() as session:
        return users.get_user(session, name)


def test_an_annotator_cannot_reach_the_admin_page(signed_in):
    annotator = signed_in("ann")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        annotator.switch_page(ADMIN_PAGE)


def test_a_lead_creates_a_user_who_signs_in_with_the_one_time_password(admin, app_db, new_app):
    admin.text_input(key="admin_new_username").input("dora")
    admin.selectbox(key="admin_new_role").set_value("annotator")
    admin.button(key="admin_create").click().run()
    assert not admin.exception, admin.exception
    password = admin.code[0].value
    assert _user(app_db, "dora").must_change_password

    newcomer = sign_in(new_app(), "dora", password)
    assert [title.value for title in newcomer.title] == ["Choose a new password"]
    # Shown once: the next run no longer holds it.
    admin.run()
    assert not admin.code


def test_a_reset_password_replaces_the_old_one(admin, app_db):
    admin.selectbox(key="admin_user").set_value("ann").run()
    admin.button(key="admin_reset").click().run()
    password = admin.code[0].value
    with app_db.read() as session:
        ann = users.get_user(session, "ann")
        assert users.verify_password(ann, password) and not users.verify_password(ann, "annotator-password-1")
        assert ann.must_change_password


def test_a_lead_changes_a_role_and_deactivates_but_not_their_own(admin, app_db):
    admin.selectbox(key="admin_user").set_value("ann").run()
    admin.selectbox(key="admin_role").set_value("lead").run()
    admin.button(key="admin_change_role").click().run()
    assert _user(app_db, "ann").role == "lead"
    admin.selectbox(key="admin_user").set_value("ann").run()
    admin.button(key="admin_toggle_active").click().run()
    assert not _user(app_db, "ann").active

    admin.selectbox(key="admin_user").set_value("lead1").run()
    admin.button(key="admin_toggle_active").click().run()
    assert _user(app_db, "lead1").active
    assert any("your own account" in error.value for error in admin.error)

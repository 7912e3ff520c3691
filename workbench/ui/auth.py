"""Who is signed in and which pages they get: plain functions, no Streamlit, testable without a browser.

The app keeps only a user id in the browser session. Every script run re-reads the user from the
database (``load_user``) and registers with ``st.navigation`` only the pages ``pages_for_user``
returns, so a role change or a deactivation takes effect on the user's next click.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from workbench.store import users
from workbench.store.engine import Database
from workbench.store.schema import ROLES, User

ALL_ROLES = frozenset(ROLES)
LEAD_ONLY = frozenset({"lead"})

SIGN_IN_FAILED = "Unknown username or wrong password."


@dataclass(frozen=True)
class SignedInUser:
    """The signed-in user as read from the database in this script run (no ORM object kept)."""

    id: int
    username: str
    role: str
    must_change_password: bool


@dataclass(frozen=True)
class PageSpec:
    """A page of the app.

    Attributes
    ----------
    path : str
        The page script, relative to ``workbench/ui/app.py``.
    title, icon : str
        What the navigation shows.
    roles : frozenset of str
        The roles that may see the page; the page is not even registered for the others.
    """

    path: str
    title: str
    icon: str
    roles: frozenset[str] = ALL_ROLES

    @property
    def lead_only(self) -> bool:
        return self.roles == LEAD_ONLY


SIGN_IN_PAGE = PageSpec("views/sign_in.py", "Sign in", ":material/login:")
NEW_PASSWORD_PAGE = PageSpec("views/new_password.py", "Choose a password", ":material/key:")

#: The pages of a signed-in user, in navigation order; the first one a role may see is its home
#: unless ``HOME_PAGES`` names another. A lead-only page is added here with ``roles=LEAD_ONLY``.
PAGES: tuple[PageSpec, ...] = (
    PageSpec("views/overview.py", "Overview", ":material/dashboard:"),
    PageSpec("views/label.py", "Label", ":material/label:"),
    PageSpec("views/review.py", "Review", ":material/rule:", roles=LEAD_ONLY),
    PageSpec("views/learning.py", "Learning", ":material/monitoring:", roles=LEAD_ONLY),
    PageSpec("views/data_map.py", "Data map", ":material/scatter_plot:", roles=LEAD_ONLY),
    PageSpec("views/annotators.py", "Annotators", ":material/groups:", roles=LEAD_ONLY),
    PageSpec("views/export.py", "Export", ":material/download:", roles=LEAD_ONLY),
    PageSpec("views/admin.py", "Users", ":material/manage_accounts:", roles=LEAD_ONLY),
    PageSpec("views/account.py", "Account", ":material/person:"),
)


#: A role's home (the page it opens on after sign-in) when that is not its first page in ``PAGES``:
#: annotators spend their day labeling; leads start on the Overview.
HOME_PAGES: dict[str, str] = {"annotator": "views/label.py"}


class PasswordChangeError(users.UserError):
    """A new password that was refused; the message says why."""


def pages_for(role: str) -> list[PageSpec]:
    """The pages of ``PAGES`` a user with ``role`` may see (none for an unknown role)."""
    return [page for page in PAGES if role in page.roles]


def pages_for_user(user: SignedInUser | None) -> list[PageSpec]:
    """What to register for this run: sign-in when signed out, only the password page while a
    new password is owed, else the role's pages."""
    if user is None:
        return [SIGN_IN_PAGE]
    if user.must_change_password:
        return [NEW_PASSWORD_PAGE]
    return pages_for(user.role)


def home_page(user: SignedInUser | None) -> PageSpec | None:
    """The page of ``pages_for_user(user)`` a session opens on (None if it has no page)."""
    pages = pages_for_user(user)
    wanted = HOME_PAGES.get(user.role) if user is not None else None
    return next((page for page in pages if page.path == wanted), pages[0] if pages else None)


def _signed_in(user: User) -> SignedInUser:
    return SignedInUser(
        id=user.id,
        username=user.username,
        role=user.role,
        must_change_password=user.must_change_password,
    )


class SignInThrottled(Exception):
    """Too many failed sign-ins for this name; ``wait_s`` says how long until the next try."""

    def __init__(self, wait_s: float) -> None:
        super().__init__(f"Too many failed sign-ins: try again in {max(1, round(wait_s))} s.")
        self.wait_s = wait_s


class Throttle:
    """Increasing waits after repeated failed sign-ins, per username as typed.

    After ``free_failures`` failures each further one doubles the wait, from ``base_s`` up to
    ``max_s``; a success clears the name. Keyed by the name as typed, so unknown names are
    throttled exactly like real ones. The app keeps one per browser session.

    Parameters
    ----------
    clock : callable returning float
        Seconds, monotonic (tests pass a fake one).
    """

    def __init__(self, *, free_failures: int = 3, base_s: float = 2.0, max_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free_failures = free_failures
        self.base_s = base_s
        self.max_s = max_s
        self.clock = clock
        self._failures: dict[str, tuple[int, float]] = {}

    def wait_s(self, name: str) -> float:
        """Seconds until ``name`` may be tried again (0 when it may now)."""
        _, until = self._failures.get(name.lower(), (0, 0.0))
        return max(0.0, until - self.clock())

    def failed(self, name: str) -> None:
        count = self._failures.get(name.lower(), (0, 0.0))[0] + 1
        extra = count - self.free_failures
        wait = 0.0 if extra <= 0 else min(self.max_s, self.base_s * 2 ** (extra - 1))
        self._failures[name.lower()] = (count, self.clock() + wait)

    def succeeded(self, name: str) -> None:
        self._failures.pop(name.lower(), None)


def sign_in(
    db: Database, username: str, password: str, *, throttle: Throttle | None = None
) -> SignedInUser | None:
    """The active user with these credentials (recording the sign-in time), else None.

    Unknown names, wrong passwords and deactivated accounts all give None, so the caller shows
    one message for all three.

    Raises
    ------
    SignInThrottled
        While ``throttle`` makes this name wait; the password is not even checked.
    """
    name = username.strip()
    if throttle is not None and (wait := throttle.wait_s(name)) > 0:
        raise SignInThrottled(wait)
    with db.write() as session:
        user = users.authenticate(session, name, password)
        signed_in = _signed_in(user) if user is not None else None
    if throttle is not None:
        (throttle.succeeded if signed_in else throttle.failed)(name)
    return signed_in


def load_user(db: Database, user_id: int | None) -> SignedInUser | None:
    """The user with ``user_id`` as the database has it now; None if absent or deactivated."""
    if user_id is None:
        return None
    with db.read() as session:
        user = session.get(User, user_id)
        return _signed_in(user) if user is not None and user.active else None


def change_password(
    db: Database,
    user_id: int,
    new_password: str,
    repeated: str,
    *,
    current_password: str | None = None,
) -> None:
    """Set the user's own password and clear ``must_change_password``.

    Parameters
    ----------
    current_password : str or None
        Checked when given (the account page asks for it; the forced change right after
        sign-in does not).

    Raises
    ------
    PasswordChangeError
        If the two entries differ, the current password is wrong, the new one equals the
        current one, it is too short, or the account is gone or deactivated. Nothing changes.
    """
    if new_password != repeated:
        raise PasswordChangeError("The two new passwords differ.")
    if len(new_password) < users.MIN_PASSWORD_LENGTH:
        raise PasswordChangeError(
            f"The new password must have at least {users.MIN_PASSWORD_LENGTH} characters."
        )
    with db.write() as session:
        user = session.get(User, user_id)
        if user is None or not user.active:
            raise PasswordChangeError("This account no longer exists or was deactivated.")
        if current_password is not None and not users.verify_password(user, current_password):
            raise PasswordChangeError("The current password is wrong.")
        if users.verify_password(user, new_password):
            raise PasswordChangeError("Choose a password different from the current one.")
        users.set_password(session, user, new_password, must_change=False, actor=user.username)

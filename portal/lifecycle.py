"""A participant's life, declared once: every action, who may take it, from which statuses, to
which status, and on which conditions; and what a participant needs before it can be submitted.

Everything else asks this module: the services take actions through ``portal.services.participants``
(which checks ``refusal`` inside the transaction), templates ask ``allowed(p, "withdraw")``, the
model asks ``participant.can("save")``, and the README's table is printed from ``ACTIONS``
(``make lifecycle-table``). A new action (badge printed, collected, revoked) is a new row.
"""

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from peewee import JOIN, CharField, TextField, fn

from .models import (
    ACCREDITED,
    BADGE_PRINTED,
    BADGE_TO_PRINT,
    DRAFT,
    REJECTED,
    ROLE_COORDINATOR,
    ROLE_SECRETARIAT,
    STATUSES,
    SUBMITTED,
    WITHDRAWN,
    Organization,
    Participant,
    Photo,
)

#: The source of the "create" action: a participant not saved yet.
NEW = "new"
#: The target of an action that deletes the participant.
GONE = "gone"

#: Statuses that count against an organization's quota.
COUNTED = (SUBMITTED, ACCREDITED)


# -- Completeness: what a participant needs before it can be submitted ----------------------------


def _blank(column):
    if isinstance(column, (CharField, TextField)):
        return fn.TRIM(fn.COALESCE(column, "")) == ""
    return column.is_null()


@dataclass(frozen=True)
class Requirement:
    """One thing a submission needs: the form's field, its label, the dashboard's group, a
    Python test and the same test in SQL (both true when the thing is missing)."""

    field: str
    label: object
    group: str
    missing: object  # participant -> bool
    missing_sql: object  # () -> peewee expression, the query joined to Photo


def _field(name, label, group="other"):
    return Requirement(
        name,
        label,
        group,
        # Blank as SQL's TRIM sees it: values are normalized (trimmed) when they are typed.
        lambda p: getattr(p, name) is None or str(getattr(p, name)).strip(" ") == "",
        lambda: _blank(getattr(Participant, name)),
    )


def has_photo(participant):
    """Whether the participant has a badge photo (from the row if the query brought it)."""
    for attribute in ("photo_id", "photo_digest"):
        if hasattr(participant, attribute):
            return bool(getattr(participant, attribute))
    if participant.id is None:
        return False
    return Photo.select().where(Photo.participant == participant.id).exists()


REQUIREMENTS = (
    _field("courtesy_title", _l("Title")),
    _field("family_name", _l("Family name")),
    _field("given_names", _l("Given names")),
    _field("gender", _l("Gender")),
    _field("function", _l("Function")),
    _field("nationality", _l("Nationality")),
    _field("date_of_birth", _l("Date of birth")),
    _field("passport_number", _l("Passport number"), "passport"),
    _field("passport_country", _l("Passport issued by"), "passport"),
    _field("passport_expiry", _l("Passport expiry date"), "passport"),
    _field("email", _l("E-mail")),
    _field("arrival_date", _l("Arrival date")),
    _field("departure_date", _l("Departure date")),
    _field("visa_required", _l("Entry visa")),
    Requirement(
        "visa_place",
        _l("Where the visa will be requested"),
        "other",
        lambda p: bool(p.visa_required) and not (p.visa_place or "").strip(" "),
        lambda: (Participant.visa_required == True) & _blank(Participant.visa_place),  # noqa: E712
    ),
    Requirement(
        "photo", _l("Badge photo"), "photo", lambda p: not has_photo(p), lambda: Photo.id.is_null()
    ),
)


def missing(participant):
    """Return the requirements ``participant`` does not meet yet."""
    return [r for r in REQUIREMENTS if r.missing(participant)]


def incomplete(query):
    """Narrow a participant query to those, still to be submitted or under review, that miss
    something: the same test as ``missing``, in SQL (joined to Photo)."""
    condition = REQUIREMENTS[0].missing_sql()
    for requirement in REQUIREMENTS[1:]:
        condition |= requirement.missing_sql()
    return query.join(Photo, JOIN.LEFT_OUTER, on=(Photo.participant == Participant.id)).where(
        Participant.status.in_(sorted(ACTIONS["submit"].sources | {SUBMITTED})) & condition
    )


# -- Conditions -------------------------------------------------------------------------------


@dataclass
class Context:
    """What a condition may look at besides the participant: who acts, the event, and what the
    request carries (a rejection's reason)."""

    actor: object = None
    event: object = None
    inputs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Condition:
    """A condition of an action. ``offered`` ones are cheap (no query) and decide whether a
    screen offers the action; the others are checked only when the action is taken, and their
    message says what to do."""

    name: str
    description: str  # for the README's table
    check: object  # (participant, context) -> translated message, or None when met
    offered: bool = False
    field: str | None = None


def _registration_state(context):
    return context.event.registration_state() if context.event is not None else "open"


CLOSED_MESSAGE = _l("Registration is closed: the delegation can no longer be changed.")


def _not_closed(participant, context):
    return CLOSED_MESSAGE if _registration_state(context) == "closed" else None


def _open(participant, context):
    state = _registration_state(context)
    if state == "closed":
        return CLOSED_MESSAGE
    if state == "not_open":
        return _l(
            "Registration is not open yet: participants can be saved as drafts, not submitted."
        )
    return None


def _complete(participant, context):
    gaps = missing(participant)
    if not gaps:
        return None
    return _l(
        "This participant is not complete: %(missing)s.",
        missing=", ".join(str(r.label) for r in gaps),
    )


def quota_refusal(organization_id, adding=1):
    """Return why ``adding`` more counted participants would exceed the organization's quota
    (None when they fit). Call it holding the organization's lock."""
    quota = (
        Organization.select(Organization.quota).where(Organization.id == organization_id).scalar()
    )
    if quota is None:
        return None
    used = (
        Participant.select()
        .where((Participant.organization == organization_id) & Participant.status.in_(COUNTED))
        .count()
    )
    if used + adding > quota:
        return _l("Your organization's quota of %(quota)s participants is reached.", quota=quota)
    return None


def _within_quota(participant, context):
    if participant.status in COUNTED:
        return None
    return quota_refusal(participant.organization_id)


def _reason_given(participant, context):
    if context.inputs.get("code") or (context.inputs.get("text") or "").strip():
        return None
    return _l("Give a reason for the rejection.")


def _has_photo(participant, context):
    if has_photo(participant):
        return None
    return _l("%(name)s has no badge photo: no badge can be printed.", name=_name(participant))


def _badge_to_print(participant, context):
    if participant.badge_state == BADGE_TO_PRINT:
        return None
    return _l(
        "The badge of %(name)s is already printed: reprint it to replace a lost one.",
        name=_name(participant),
    )


def _badge_printed(participant, context):
    if participant.badge_state == BADGE_PRINTED:
        return None
    return _l("The badge of %(name)s has not been printed yet.", name=_name(participant))


def _name(participant):
    return participant.full_name or participant.family_name


NOT_CLOSED = Condition(
    "registration not closed", "registration has not closed", _not_closed, offered=True
)
OPEN = Condition("registration open", "registration is open", _open, offered=True)
COMPLETE = Condition("complete", "nothing is missing (see REQUIREMENTS)", _complete, field="submit")
WITHIN_QUOTA = Condition("quota", "the organization's quota is not reached", _within_quota)
REASON = Condition("reason", "a reason is given", _reason_given, field="reason")
PHOTO = Condition("photo", "the participant has a badge photo", _has_photo, offered=True)
BADGE_NOT_PRINTED = Condition(
    "badge to print", "the badge is to print", _badge_to_print, offered=True
)
BADGE_IS_PRINTED = Condition("badge printed", "the badge is printed", _badge_printed, offered=True)


# -- The table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    name: str
    who: frozenset
    sources: frozenset
    #: The new status; None keeps the status; GONE deletes the participant.
    target: str | None
    conditions: tuple = ()
    #: The audit row's action.
    audited_as: str = ""
    #: What to say when the status does not admit the action, if more than the general words.
    refused: object = None
    #: The badge's state after the action (BADGE_STATES), None when the badge is left alone.
    #: Printed: a new verification token (an older one revoked); to print: the printed badge,
    #: if any, no longer says what the participant's record says, and its token is revoked.
    badge: str | None = None

    @property
    def badge_only(self):
        """The action changes the badge alone (not the status, not the version of the record)."""
        return self.target is None and self.badge is not None


def _action(name, who, sources, target, conditions=(), refused=None, badge=None):
    return Action(
        name,
        frozenset(who),
        frozenset(sources),
        target,
        tuple(conditions),
        "participant." + name,
        refused,
        badge,
    )


NO_BADGE = _l("Only an accredited participant gets a badge.")


COORDINATOR = {ROLE_COORDINATOR}
SECRETARIAT = {ROLE_SECRETARIAT}
#: Registrations the secretariat also enters, on an organization's behalf (one sent on paper
#: or by e-mail), always for the organization it names (participants.organization_for).
ENTERING = COORDINATOR | SECRETARIAT

ACTIONS = {
    a.name: a
    for a in (
        _action("create", ENTERING, {NEW}, DRAFT, [NOT_CLOSED]),
        _action("save", ENTERING, {DRAFT, SUBMITTED, REJECTED, ACCREDITED}, None, [NOT_CLOSED]),
        _action("submit", ENTERING, {DRAFT, REJECTED}, SUBMITTED, [OPEN, COMPLETE, WITHIN_QUOTA]),
        # Taken by a save that changes what the badge shows: the secretariat looks again.
        _action("resubmit", ENTERING, {ACCREDITED}, SUBMITTED, [NOT_CLOSED], badge=BADGE_TO_PRINT),
        _action(
            "withdraw",
            COORDINATOR,
            {SUBMITTED, ACCREDITED, REJECTED},
            WITHDRAWN,
            [NOT_CLOSED],
            badge=BADGE_TO_PRINT,
        ),
        _action(
            "delete",
            COORDINATOR,
            {DRAFT},
            GONE,
            [NOT_CLOSED],
            refused=_l("Only drafts can be deleted; withdraw this participant instead."),
        ),
        _action("accredit", SECRETARIAT, {SUBMITTED, REJECTED}, ACCREDITED),
        _action(
            "reject", SECRETARIAT, {SUBMITTED, ACCREDITED}, REJECTED, [REASON], badge=BADGE_TO_PRINT
        ),
        # A badge printed on demand or by a print run; a reprint replaces a lost badge.
        _action(
            "print_badge",
            SECRETARIAT,
            {ACCREDITED},
            None,
            [PHOTO, BADGE_NOT_PRINTED],
            refused=NO_BADGE,
            badge=BADGE_PRINTED,
        ),
        _action(
            "reprint_badge",
            SECRETARIAT,
            {ACCREDITED},
            None,
            [PHOTO, BADGE_IS_PRINTED],
            refused=NO_BADGE,
            badge=BADGE_PRINTED,
        ),
        # A coordinator checks how the names come out: a specimen, without a valid code.
        _action(
            "preview_badge",
            COORDINATOR | SECRETARIAT,
            {DRAFT, SUBMITTED, ACCREDITED, REJECTED},
            None,
            [PHOTO],
        ),
        # Documents: the confirmation of accreditation (and visa-support letter); it changes
        # nothing, only who may have it and when.
        _action(
            "letter",
            COORDINATOR | SECRETARIAT,
            {ACCREDITED},
            None,
            refused=_l("A letter is given to accredited participants only."),
        ),
    )
}

#: What a save may change that is printed on the badge: it sends an accredited participant back.
BADGE_FIELDS = (
    "courtesy_title",
    "family_name",
    "given_names",
    "family_name_original",
    "given_names_original",
    "function",
)


@dataclass(frozen=True)
class Refusal:
    """Why an action is not allowed: ``kind`` is "role", "status" (409: the participant is not
    in a state for it) or "condition" (422: something to put right first)."""

    message: object
    kind: str
    field: str | None = None


def status_of(participant):
    return NEW if participant is None else participant.status


def refusal(participant, name, actor=None, event=None, offered_only=False, **inputs):
    """Return why ``actor`` may not take action ``name`` on ``participant`` now, or None.

    With ``offered_only``, only the cheap conditions are checked: what a screen needs to decide
    whether to offer the action.
    """
    action = ACTIONS[name]
    if actor is not None and getattr(actor, "role", None) not in action.who:
        return Refusal(_l("This action is not yours to take."), "role")
    status = status_of(participant)
    if status not in action.sources:
        if action.refused is not None:
            return Refusal(action.refused, "status")
        label = STATUSES.get(status, status)
        who = participant.full_name or participant.family_name if participant is not None else ""
        return Refusal(
            _l("Not possible now: the status of %(name)s is “%(status)s”.", name=who, status=label),
            "status",
        )
    context = Context(actor, event, inputs)
    for condition in action.conditions:
        if offered_only and not condition.offered:
            continue
        message = condition.check(participant, context)
        if message is not None:
            return Refusal(message, "condition", condition.field)
    return None


def allowed(participant, name, actor=None, event=None):
    """Whether a screen should offer action ``name`` (role, status and the cheap conditions)."""
    return refusal(participant, name, actor, event, offered_only=True) is None


def new_draft():
    """A participant as the "create" action leaves it: what a new form may go on to do."""
    return Participant(status=ACTIONS["create"].target)


# -- The README's table -----------------------------------------------------------------------


def table_markdown():
    """Return the lifecycle as a Markdown table: one row per action."""
    names = {NEW: "(new)", GONE: "(deleted)", None: "(unchanged)"}
    order = [NEW, *STATUSES]
    lines = [
        "| action | who | from | to | badge | conditions |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for action in ACTIONS.values():
        sources = ", ".join(names.get(s, s) for s in order if s in action.sources)
        conditions = "; ".join(c.description for c in action.conditions) or "none"
        badge = {BADGE_TO_PRINT: "to print (token revoked)", BADGE_PRINTED: "printed (new token)"}
        lines.append(
            "| %s | %s | %s | %s | %s | %s |"
            % (
                action.name,
                ", ".join(sorted(action.who)),
                sources,
                names.get(action.target, action.target),
                badge.get(action.badge, "·"),
                conditions,
            )
        )
    return "\n".join(lines)


def matrix_markdown():
    """Return statuses x actions: who may take each action from each status."""
    order = [NEW, *STATUSES]
    lines = [
        "| status | " + " | ".join(ACTIONS) + " |",
        "| --- |" + " --- |" * len(ACTIONS),
    ]
    for status in order:
        cells = [", ".join(sorted(a.who)) if status in a.sources else "·" for a in ACTIONS.values()]
        lines.append("| %s | %s |" % ("(new)" if status == NEW else status, " | ".join(cells)))
    return "\n".join(lines)


START, END = "<!-- lifecycle table: start -->", "<!-- lifecycle table: end -->"


def write_readme(path="README.md"):
    """Put the two tables between the README's markers (``make lifecycle-table``)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    tables = "\n".join([START, "", table_markdown(), "", matrix_markdown(), "", END])
    with open(path, "w", encoding="utf-8") as f:
        f.write(before + tables + after)

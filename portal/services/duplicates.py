"""Duplicates across delegations: the same passport, or the same names and date of birth, in
another organization's delegation."""

from ..crypto import birth_key
from ..models import WITHDRAWN, Organization, Participant


def _name_key(p):
    return (p.family_name.strip().casefold(), p.given_names.strip().casefold(), p.date_of_birth)


def duplicates_for(participants):
    """Return ``{participant_id: [other participants]}``: the same passport, or the same names
    and date of birth, in another organization's delegation (withdrawn ones left out).

    One query for the whole list, whatever its length.
    """
    participants = list(participants)
    keys = {p.passport_key for p in participants if p.passport_key}
    births = {birth_key(p.date_of_birth) for p in participants if p.date_of_birth}
    if not keys and not births:
        return {}
    condition = None
    if keys:
        condition = Participant.passport_key.in_(sorted(keys))
    if births:
        by_birth = Participant.birth_key.in_(sorted(births))
        condition = by_birth if condition is None else (condition | by_birth)
    others = list(
        Participant.select(
            Participant.id,
            Participant.organization,
            Participant.family_name,
            Participant.given_names,
            Participant.date_of_birth,
            Participant.passport_key,
            Participant.status,
            Organization.id,
            Organization.code,
            Organization.acronym,
            Organization.name_en,
            Organization.name_fr,
            Organization.name_ar,
        )
        .join(Organization)
        .where(condition & (Participant.status != WITHDRAWN))
    )
    by_passport, by_person = {}, {}
    for other in others:
        if other.passport_key:
            by_passport.setdefault(other.passport_key, []).append(other)
        if other.date_of_birth and other.family_name:
            by_person.setdefault(_name_key(other), []).append(other)
    found = {}
    for p in participants:
        if p.status == WITHDRAWN:
            continue
        candidates = by_passport.get(p.passport_key, []) if p.passport_key else []
        if p.date_of_birth and p.family_name:
            candidates = candidates + by_person.get(_name_key(p), [])
        seen = set()
        for other in candidates:
            if other.organization_id != p.organization_id and other.id not in seen:
                seen.add(other.id)
                found.setdefault(p.id, []).append(other)
    return found

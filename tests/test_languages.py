"""Organizations and dates in the page's language: names and acronyms per language with their
fallbacks, a name in another language marked as such, and dates nobody can read two ways."""

import io
import re

import pytest

from portal.db import database
from portal.models import Organization

from .conftest import csrf_token
from .test_i18n_pages import choose, crawl

# 12/2/26 or 2/12/26 (Arabic puts a right-to-left mark before each slash).
SHORT_DATE = re.compile(r"\d{1,2}\u200f?/\d{1,2}\u200f?/\d{2}\b")


@pytest.fixture
def demo(app, runner):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output


def heading(html):
    match = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert match, "no heading"
    return match.group(1)


@pytest.mark.parametrize(
    "username,password,arabic,french",
    [
        ("las.coord", "Qahira2005", "جامعة الدول العربية", "Ligue des États arabes"),
        (
            "escwa.dfp",
            "Beyrouth_2005",
            "اللجنة الاقتصادية والاجتماعية لغربي آسيا",
            "Commission économique et sociale",
        ),
    ],
)
def test_an_arabic_coordinator_sees_the_organization_named_in_arabic(
    client, auth, demo, username, password, arabic, french
):
    assert auth.login(username, password).status_code == 303
    for path in ("/delegation", "/delegation/participants"):
        html = client.get(path).get_data(as_text=True)
        assert '<html lang="ar" dir="rtl">' in html
        assert arabic in heading(html), path
        assert french not in html, path
        # In the page's own language: no lang of its own.
        assert "<bdi>%s</bdi>" % arabic in heading(html)


def test_a_name_shown_in_another_language_says_which(client, auth, world, app):
    with app.app_context(), database.connection_context():
        Organization.update(name_fr="Union internationale des télécommunications").where(
            Organization.id == world["org"].id
        ).execute()
    assert auth.login("coord", "Correct-horse-42").status_code == 303
    choose(client, "ar")
    html = client.get("/delegation").get_data(as_text=True)
    # No Arabic name: the French one, marked French for a screen reader.
    assert '<bdi lang="fr">Union internationale des télécommunications</bdi>' in heading(html)
    choose(client, "en")
    html = client.get("/delegation").get_data(as_text=True)
    assert "<bdi>Organization ITU</bdi>" in heading(html)


def test_names_fall_back_as_documented(app, make_org):
    org = make_org("X", name_en="Org", name_fr="Organisation", acronym_fr="OX", acronym_en="")
    with app.test_request_context():
        assert org.name_with_lang("ar") == ("Organisation", "fr")
        assert org.name_with_lang("en") == ("Org", "en")
        org.name_ar = "منظمة"
        assert org.name_with_lang("ar") == ("منظمة", "ar")
        # An acronym never crosses languages: the name stands in.
        assert org.short_name_with_lang("en") == ("Org", "en")
        assert org.short_name_with_lang("fr") == ("OX", "fr")


FRENCH_ACRONYMS = ("UA", "CESAO", "PNUD", "OMPI", "LEA")


def test_no_french_acronym_on_an_english_page(client, auth, demo, app):
    # A participant in each delegation, so that every acronym has a place to show.
    with app.app_context(), database.connection_context():
        from portal.models import SUBMITTED, Participant

        for org in Organization.select():
            Participant.create(
                organization=org, family_name="DOE", given_names="Jo", status=SUBMITTED
            )
    assert auth.login("secretariat", "Secretariat-2005").status_code == 303
    choose(client, "en")
    pages, _ = crawl(client, ["/secretariat/", "/secretariat/queue", "/secretariat/accounts"])
    shown = {}
    for path, html in pages.items():
        html = re.sub(r"<input[^>]*>", "", html)  # the organization's form holds each language's
        html = re.sub(r'<option value="[^"]*"', "<option", html)  # country codes (UA: Ukraine)
        for acronym in FRENCH_ACRONYMS:
            if re.search(r"(?<![\w-])%s(?![\w-])" % acronym, html):
                shown.setdefault(acronym, path)
    assert not shown, shown
    overview = client.get("/secretariat/?sort=name").get_data(as_text=True)
    assert "ESCWA" in overview and "UNDP" in overview and "African Union" in overview
    choose(client, "fr")
    overview = client.get("/secretariat/?sort=name").get_data(as_text=True)
    assert "CESAO" in overview and "PNUD" in overview


def test_the_import_reads_arabic_names_and_acronyms_and_keeps_them_when_absent(
    app, runner, tmp_path
):
    header = (
        "username,password_hash,org_code,org_name_en,org_name_fr,org_name_ar,org_acronym,"
        "org_acronym_en,org_acronym_ar,org_category,given_name,family_name,email,language"
    )
    row = (
        "x.coord,,ESCWA,Economic and Social Commission for Western Asia,Commission économique "
        "et sociale pour l'Asie occidentale,اللجنة الاقتصادية والاجتماعية لغربي آسيا,CESAO,"
        "ESCWA,الإسكوا,UN,Rima,Haddad,r.haddad@escwa.example,ar"
    )
    path = tmp_path / "full.csv"
    path.write_text(header + "\r\n" + row + "\r\n", encoding="utf-8")
    result = runner.invoke(args=["accounts", "import", str(path)])
    assert result.exit_code == 0, result.output
    with app.app_context(), database.connection_context():
        org = Organization.get(Organization.code == "ESCWA")
        assert (org.name_ar, org.acronym_fr, org.acronym_en, org.acronym_ar) == (
            "اللجنة الاقتصادية والاجتماعية لغربي آسيا",
            "CESAO",
            "ESCWA",
            "الإسكوا",
        )
    # The PrepCom export itself has neither column: what was stored stays.
    plain = tmp_path / "plain.csv"
    columns = header.split(",")
    values = next(__import__("csv").reader(io.StringIO(row)))
    keep = [i for i, c in enumerate(columns) if c not in ("org_name_ar", "org_acronym_ar")]
    plain.write_text(
        ",".join(columns[i] for i in keep)
        + "\n"
        + ",".join('"%s"' % values[i] for i in keep)
        + "\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["accounts", "import", str(plain)])
    assert result.exit_code == 0, result.output
    with app.app_context(), database.connection_context():
        org = Organization.get(Organization.code == "ESCWA")
        assert (org.name_ar, org.acronym_ar) == (
            "اللجنة الاقتصادية والاجتماعية لغربي آسيا",
            "الإسكوا",
        )


def test_the_secretariat_names_an_organization_in_each_language(client, auth, app, make_org):
    org = make_org("UNDP", acronym="PNUD")
    from portal.services.accounts import create_secretariat

    with app.test_request_context(), database.connection_context():
        create_secretariat("sec", "Secretariat-2005", given_name="S", family_name="S")
    assert auth.login("sec", "Secretariat-2005").status_code == 303
    url = "/secretariat/organizations/%d" % org.id
    page = client.get(url).get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(page),
        "name_en": "United Nations Development Programme",
        "name_fr": "Programme des Nations Unies pour le développement",
        "name_ar": "برنامج الأمم المتحدة الإنمائي",
        "acronym_en": "UNDP",
        "acronym_fr": "PNUD",
        "acronym_ar": "",
        "quota": "",
    }
    assert client.post(url, data=data).status_code == 303
    with app.app_context(), database.connection_context():
        org = Organization.get_by_id(org.id)
        assert (org.name_ar, org.acronym_en, org.acronym_fr) == (
            "برنامج الأمم المتحدة الإنمائي",
            "UNDP",
            "PNUD",
        )
    # English and French names are required.
    answer = client.post(url, data={**data, "name_en": " "})
    assert answer.status_code == 422


@pytest.mark.parametrize(
    "username,password,start",
    [
        ("unesco.dfp", "Tunis2005!", "/delegation"),
        ("secretariat", "Secretariat-2005", "/secretariat/"),
    ],
)
def test_no_date_in_a_numeric_short_form_on_any_page(client, auth, demo, username, password, start):
    # Sign in twice, so that the accounts screen has a last sign-in to show.
    assert auth.login(username, password).status_code == 303
    auth.logout()
    assert auth.login(username, password).status_code == 303
    seen = 0
    for language in ("en", "fr", "ar"):
        choose(client, language)
        pages, fragments = crawl(client, [start, "/secretariat/audit", "/secretariat/accounts"])
        for path, html in {**pages, **fragments}.items():
            found = SHORT_DATE.search(html)
            assert not found, (language, path, found.group(0))
        dates = "".join(pages.values())
        seen += len(re.findall(r"\b20\d\d\b", dates))
    assert seen > 0  # dates were shown, in full


# -- Words: French punctuation, elision and gender; the Arabic register ---------------------------


def _strings(language):
    from .test_i18n_pages import _catalog

    for message in _catalog(language):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            if text:
                yield message.id, text


NAME_PLACEHOLDER = r"%\((?:name|username|given|family)\)s"


def test_french_needs_no_elision_or_gender_mark_before_a_name():
    for msgid, text in _strings("fr"):
        # "de Ousmane", "que Ousmane", "le Ousmane": a name that starts with a vowel needs "d'".
        assert not re.search(r"\b(?:de|que|le|la|ce|si)\s+%s" % NAME_PLACEHOLDER, text), msgid
        # "accrédité(e)": the person's gender is known, or the sentence says neither.
        assert "(e)" not in text, msgid
        # The UN's usage: a no-break space before a colon, never a plain one.
        assert " :" not in text and " ;" not in text, msgid


# Second person singular ("you can", "you have", "your page", "choose"): whole words only.
SINGULAR = re.compile(
    r"(?<![\u0600-\u06ff])(?:يمكنك|لديك|نسختك|صفحتك|حسابك|تريد|اختر|أعد|اسحب|أرسل|تحقّق)"
    r"(?![\u0600-\u06ff])"
)


def test_arabic_speaks_in_the_polite_plural():
    for msgid, text in _strings("ar"):
        found = SINGULAR.search(text)
        assert not found, (msgid, found and found.group(0))
    assert not any("ليست اختيارات صالحة" in text for _, text in _strings("ar"))


def test_a_colon_in_a_count_is_the_translators(client, auth, demo):
    auth.login("unesco.dfp", "Tunis2005!")
    choose(client, "fr")
    html = client.get("/delegation").get_data(as_text=True)
    assert "<li>Brouillon\u00a0: <strong>" in html
    # A participant still missing something: the name, then what is missing.
    assert re.search(r"</bdi></a>\u00a0: (?:photo|données|autres)", html), html
    choose(client, "en")
    assert "<li>Draft: <strong>" in client.get("/delegation").get_data(as_text=True)


# -- E-mails: counted right, a link, names isolated, one sign-off --------------------------------


def _summary(app, account, submitted, participants):
    from portal.services import mail

    with app.test_request_context(), database.connection_context(), database.atomic():
        mail.enqueue_to_account(
            account, "submission_summary", submitted=submitted, participants=participants
        )


@pytest.fixture
def mails(app, smtp_server):
    from .conftest import deliver_mail

    def read():
        deliver_mail(app)
        return [m.get_content() for m in smtp_server]

    return read


def test_a_submission_summary_counts_links_and_isolates(
    app, world, make_participant, make_account, mails
):
    karim = make_participant(world["org"], family_name="BENALI", given_names="Karim")
    other = make_participant(world["org"], family_name="SOW", given_names="Awa")
    arab = make_account("arab", organization=world["org"], language="ar")
    _summary(app, world["first"], [karim.id], [karim, other])
    _summary(app, world["first"], [karim.id, other.id], [karim, other])
    _summary(app, arab, [karim.id], [karim])
    one, two, arabic = mails()
    assert "1 participant was submitted" in one and "2 participants were submitted" in two
    for body in (one, two, arabic):
        assert "http://" in body and "/delegation" in body  # a link to the portal
    assert body.rstrip().endswith("خدمة التسجيل في القمة العالمية لمجتمع المعلومات، تونس")
    assert one.rstrip().endswith("WSIS Tunis registration service")
    # An Arabic line that starts with a Latin name: the name isolated, so the line reads RTL.
    line = next(x for x in arabic.splitlines() if "BENALI" in x)
    assert line.startswith("- \u2068Karim BENALI\u2069")


def test_every_e_mail_signs_off_the_same_way():
    import glob
    import os

    from .conftest import ROOT

    for path in glob.glob(os.path.join(ROOT, "portal", "templates", "mail", "*.txt")):
        with open(path, encoding="utf-8") as fh:
            last = fh.read().strip().splitlines()[-1]
        assert last == '{{ _("WSIS Tunis registration service") }}', path

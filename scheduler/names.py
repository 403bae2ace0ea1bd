"""Pools of event names people actually write, for generated problems beyond the canonical 50 names.

Two committed pools, ``data/names/train.json`` and ``data/names/heldout.json`` (``{group: [names]}``).
The canonical 50 names are often memorised by a tuned model; these pools test whether it copes with
"Gym (legs)", "Review #990", "Flight LH 431 to Lisbon", "Termin mit Jens Wolff" or "홍정훈님과 회의".

The held-out pool is disjoint from training in every way we can make it: no shared name (compared
case-insensitively), its templates and groups are never used in training, and its Faker fillers come
from other locales. Neither pool holds a canonical name (the generator mixes those in separately).

    python -m scheduler.names --build     # regenerate both pools (needs the ``faker`` package)
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

from scheduler.errors import SchedulerError
from scheduler.events import MAX_NAME_LENGTH, _check_name

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
NAMES_DIR = DATA_DIR / "names"
POOLS = ("train", "heldout")
BUILD_SEED = 2026
MIN_GROUP_SIZE = 20  # a problem of up to 16 events can always be drawn from one group

TRAIN_LOCALES = ("en_US", "en_GB", "es_ES", "de_DE", "fr_FR", "it_IT", "pt_BR", "ru_RU", "ja_JP", "zh_CN", "uk_UA",
                 "el_GR", "he_IL", "fa_IR", "ne_NP", "bn_BD", "th_TH", "zh_TW", "vi_VN", "cs_CZ", "sv_SE", "id_ID")
HELDOUT_LOCALES = ("es_MX", "nl_NL", "pl_PL", "ko_KR", "hi_IN", "ar_AA", "tr_TR")


@lru_cache(maxsize=2)
def name_pool(pool: str) -> dict[str, tuple[str, ...]]:
    """The committed pool ``train`` or ``heldout``: group -> names (read once)."""
    if pool not in POOLS:
        raise SchedulerError(f"Unknown name pool {pool!r}; choose from {list(POOLS)}.")
    path = NAMES_DIR / f"{pool}.json"
    if not path.exists():
        raise SchedulerError(f"The name pool {pool!r} should be at {path}; rebuild it with python -m scheduler.names --build.")
    with open(path, encoding="utf-8") as f:
        return {group: tuple(names) for group, names in json.load(f).items()}


def all_names(pool: str) -> frozenset[str]:
    return frozenset(n for names in name_pool(pool).values() for n in names)


# ---------------------------------------------------------------------------------------------------
# Qualifiers: the trailing "(…)", "[…]" or " - …" people add to a name ("Gym (legs)", "Sync [remote]").
# A tuned model tends to drop or rewrite them, and the training pool has few (1.6% of its names end in ")"
# against 10.4% of the held-out pool's), so training problems can carry extra ones. Only training draws them:
# a qualified name that happens to be a held-out or canonical name is never produced.

QUALIFIER_WORDS = ["online", "in person", "tentative", "optional", "hybrid", "Zoom", "Teams", "call", "confirmed",
                   "moved", "prep", "follow-up", "kick-off", "draft", "final", "remote", "on site", "recurring",
                   "rescheduled", "if time", "must", "bring laptop", "cancelled?", "TBC", "maybe", "urgent",
                   "quick", "async", "video", "phone", "outside", "lobby", "east wing", "level 2", "HQ", "café",
                   "en ligne", "vor Ort", "presencial", "online/offline", "オンライン", "线上", "удалённо", "ζωντανά",
                   "באופן מקוון", "ออนไลน์", "trực tuyến", "på plats", "daring", "osobně"]
QUALIFIER_NUMBERED = ["room {n}", "part {k}", "v{k}", "#{n}", "{m} min", "x{k}", "{k}/{k2}", "take {k}",
                      "round {k}", "desk {n}", "seat {n}", "ch. {k}", "set {k}", "ep. {n}", "№{n}", "floor {k}"]


@lru_cache(maxsize=1)
def _qualifier_people() -> tuple[str, ...]:
    """First names of the training pool's people (``names <locale>`` groups): "Babysitter (Иван)"."""
    pool = name_pool("train")
    return tuple(sorted({n.split()[0] for group, names in pool.items() if group.startswith("names ") for n in names}))


def _canonical_casefolded() -> set[str]:
    """The canonical 50 names, compared case-insensitively (neither pool may hold one)."""
    groups = json.loads((DATA_DIR / "event-names-by-category.json").read_text("utf-8"))
    return {n.casefold() for names in groups.values() for n in names}


@lru_cache(maxsize=1)
def _refused_qualified() -> frozenset[str]:
    return frozenset(n.casefold() for n in all_names("heldout")) | _canonical_casefolded()


def qualifier(rng: random.Random) -> str:
    """One training-only qualifier text, without its brackets."""
    kind = rng.random()
    if kind < 0.45:
        return rng.choice(QUALIFIER_WORDS)
    if kind < 0.75:
        return rng.choice(QUALIFIER_NUMBERED).format(n=rng.randint(1, 999), k=rng.randint(1, 9), k2=rng.randint(2, 9),
                                                     m=rng.choice([5, 10, 15, 20, 25, 40, 50]))
    if kind < 0.9:
        return rng.choice(_qualifier_people())
    return f"{rng.choice(QUALIFIER_WORDS)}, {rng.choice(_qualifier_people())}"


def qualify(name: str, rng: random.Random) -> str:
    """``name`` with a qualifier appended ("Standup (Zoom)", "Lab QX-12 [part 2]", "Ramen - prep"), or ``name``
    itself when the result would be too long or a held-out or canonical name."""
    text = qualifier(rng)
    form = rng.random()
    qualified = f"{name} ({text})" if form < 0.75 else f"{name} [{text}]" if form < 0.9 else f"{name} - {text}"
    if len(qualified) > MAX_NAME_LENGTH or qualified.casefold() in _refused_qualified():
        return name
    return qualified


# ---------------------------------------------------------------------------------------------------
# Building (only with --build; needs faker). Everything below is deterministic for a pinned faker.

Filler = Callable[[], str]

# Hand-written English templates of the training pool: {slot} is filled from the lists or from Faker.
# Coined words: the shipped model's held-out failures bend a name's first word toward a common one ("Try new
# recipe" -> "Trying new recipe", "Weed the beds" -> "Witty beds"). A training name whose first word is a word no
# language has ("Brenvik the beds") can only be copied, not recalled. Training only, like the qualifiers.

ONSETS = ["b", "br", "d", "dr", "f", "fl", "g", "gr", "k", "kl", "l", "m", "n", "p", "pl", "r", "s", "sk", "st", "t",
          "tr", "v", "z", "sh", "ch", "th", "w", "j"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ou", "ee", "oa", "y"]
CODAS = ["", "", "n", "r", "l", "k", "m", "s", "x", "nd", "rk", "st", "ck", "v"]


def coined_word(rng: random.Random) -> str:
    """A pronounceable word of two or three syllables and at most 10 letters ("Brenvik", "Zoumalk")."""
    while True:
        syllables = 2 if rng.random() < 0.7 else 3
        word = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(syllables))
        if len(word) <= 10:
            return word


def coin(name: str, rng: random.Random) -> str:
    """``name`` with its first word replaced by a coined one, in the same case ("Weed the beds" -> "Brenvik the
    beds"), or ``name`` itself when the result would be too long or a held-out or canonical name. A coined word
    is ASCII letters only, so a valid name stays valid."""
    first, sep, rest = name.partition(" ")
    word = coined_word(rng)
    if first[:1].isupper():
        word = word.capitalize()
    coined = word + sep + rest
    if len(coined) > MAX_NAME_LENGTH or coined.casefold() in _refused_qualified():
        return name
    return coined


TOPICS = ["Budget", "Roadmap", "Hiring", "Marketing", "Sales", "Design", "Q3 planning", "Infra", "Security",
          "Onboarding", "Product", "Data team", "Support", "Release 2.4", "OKR", "Pricing", "Mobile app", "API"]
SUBJECTS = ["Calculus", "Linear algebra", "Organic chemistry", "French", "Spanish vocab", "History essay",
            "Statistics", "Physics lab", "Macroeconomics", "Python", "Japanese kanji", "Biology", "Philosophy"]
ITEMS = ["dry cleaning", "groceries", "prescription", "parcel", "new glasses", "keys", "birthday cake",
         "printer ink", "flowers", "bike", "passport photos", "library books", "car"]
FEATURES = ["login flow", "dark mode", "search API", "billing fix", "CSV export", "cache layer", "i18n",
            "rate limiter", "onboarding UI", "DB migration", "flaky test", "docs typo"]
AIRLINES = ["LH", "BA", "AF", "IB", "KL", "TP", "UA", "AZ", "LX", "FR", "U2", "JL"]
SPORTS = ["Gym (legs)", "Gym (push)", "Gym (pull)", "Gym", "Run 5k", "Run 10k", "Long run (18 km)", "Yoga",
          "Swim 1,500 m", "Spin class", "Climbing", "Tennis w/ {first}", "Football (5-a-side)", "Pilates",
          "Boxing", "Cycling: 40 km", "HIIT!", "Stretching", "Padel with {first}", "Squash - league match",
          "Basketball", "Hike up {city}'s hill", "Rowing (erg)", "Judo", "Core & mobility"]
CHORES = ["Laundry", "Clean kitchen", "Vacuum", "Dishes", "Take out bins", "Iron shirts", "Change bed sheets",
          "Defrost freezer", "Water plants", "Mop floors", "Sort recycling", "Tidy garage", "Clean bathroom",
          "Fold laundry", "Wash car", "Meal prep (Sunday)", "Empty dishwasher", "Clean windows",
          "Declutter wardrobe", "Descale kettle"]


def _train_templates() -> dict[str, list[str]]:
    """Group -> templates. Slots: {first} {person} {last} {company} {city} {street} {n} {topic} ..."""
    return {
        "meetings": ["{topic} sync", "Weekly {topic} meeting", "{topic} planning", "Meeting with {person}",
                     "{topic} review w/ {first}", "Kick-off: {topic}", "All-hands", "Stand-up", "{topic} retro",
                     "Board meeting", "{topic} workshop (room {n})", "Team meeting #{n}",
                     "Quarterly business review with {company} and the {topic} team (room {n})"],
        "calls": ["Call {person}", "Call with {company}", "Phone call: {first}", "Zoom with {person}",
                  "Call mum", "Call the bank", "Sales call - {company}", "Catch-up call w/ {first}",
                  "Call {company} support", "Interview call: {person}"],
        "errands": ["Pick up {item}", "Buy {item}", "Drop off {item}", "Post office", "Return {item}",
                    "Bank: open account", "Renew passport", "Car service", "Pharmacy", "Supermarket run",
                    "Collect {item} from {first}"],
        "medical": ["Dentist", "Dr. {last}", "Dentist (cleaning)", "Physio (back)", "Blood test", "Eye exam",
                    "GP appointment", "Dermatologist", "Flu shot", "Therapy session", "Check-up w/ Dr. {last}",
                    "Vaccination #{n}", "X-ray (knee)", "Orthodontist", "Pharmacy: repeat prescription"],
        "sport": SPORTS,
        "study": ["Study {subject}", "{subject} lecture", "Exam prep: {subject}", "{subject} seminar",
                  "{subject} homework", "Library: {subject}", "Study group ({subject})", "{subject} tutorial #{n}",
                  "Office hours - {subject}", "Revise {subject}!"],
        "travel": ["Flight {airline} {n} to {city}", "Train to {city}", "Bus to {city}", "Check in: hotel in {city}",
                   "Airport transfer", "Ferry to {city}", "Drive to {city}", "Pack for {city}",
                   "Flight {airline}{n} ({city})", "Taxi to station",
                   "Flight {airline} {n} to {city}, then the airport shuttle to the hotel"],
        "code reviews": ["Review #{n}", "PR #{n}: {feature}", "Code review: {feature}", "Review {first}'s PR #{n}",
                         "Pair programming: {feature}", "Merge PR #{n}", "Fix #{n} ({feature})", "Deploy v{n}",
                         "Design doc review: {feature}", "Hotfix #{n}"],
        "one-on-ones": ["1:1 with {first}", "1:1 {first}/{first2}", "1-on-1: {person}", "Skip-level 1:1 ({first})",
                        "Mentoring {first}", "Coffee 1:1 w/ {first}", "Career chat: {first}"],
        "family": ["{first}'s birthday", "Pick up kids", "School run", "Parents' evening", "Dinner at Grandma's",
                   "{first}'s football match", "Family lunch", "Visit {first} & {first2}", "Anniversary dinner",
                   "Kids' swimming lesson", "Bedtime story", "Babysitter ({first})", "{first}'s school play"],
        "social": ["Drinks with {first}", "Dinner at {first}'s", "Brunch w/ {first} & {first2}", "Book club",
                   "Board games night", "Party at {first}'s!", "Coffee with {person}", "Pub quiz", "Karaoke",
                   "Cinema: new release", "BBQ at {first}'s", "Concert in {city}", "Wedding: {first} & {first2}"],
        "chores": CHORES,
        "work admin": ["Expenses", "Timesheet", "Inbox zero", "Write report", "Prepare slides for {company}",
                       "Invoice {company} #{n}", "Update CV", "Performance review", "Quarterly report (Q{q})",
                       "Contract review: {company}", "Send proposal to {company}", "Email {person}"],
        "food": ["Lunch", "Lunch with {first}", "Breakfast meeting", "Dinner", "Team lunch @ {company}",
                 "Coffee break", "Lunch & learn: {topic}", "Dinner reservation (8 ppl)", "Snack", "Tea with {first}"],
    }


# Language-specific templates: training locales. {name} is a Faker person, {company}, {city}, {street}.
TRAIN_LOCAL = {
    "en_US": ("Meeting with {name}", "Lunch at {company}", "Drive to {city}", "Open house: {street}"),
    "en_GB": ("Tea with {name}", "Interview at {company}", "Train to {city}", "Viewing: flat on {street}"),
    "es_ES": ("Reunión con {name}", "Entrevista en {company}", "Viaje a {city}", "Cita en {street}"),
    "de_DE": ("Termin mit {name}", "Vorstellungsgespräch bei {company}", "Fahrt nach {city}", "Besichtigung {street}"),
    "fr_FR": ("Rendez-vous avec {name}", "Réunion chez {company}", "Train pour {city}", "Visite {street}"),
    "it_IT": ("Riunione con {name}", "Colloquio da {company}", "Viaggio a {city}", "Appuntamento in {street}"),
    "pt_BR": ("Reunião com {name}", "Entrevista na {company}", "Viagem para {city}", "Visita: {street}"),
    "ru_RU": ("Встреча с {name}", "Собеседование: {company}", "Поездка в {city}", "Осмотр квартиры, {street}"),
    "ja_JP": ("{name}さんと打ち合わせ", "{company}で面接", "{city}へ出張", "{city}で会議"),
    "zh_CN": ("与{name}开会", "{company}面试", "去{city}出差", "{street}看房"),
    # More scripts, so that copying a name is learnt beyond Latin, Cyrillic and CJK (Devanagari and the Arabic
    # script also appear in held-out locales, hi_IN and ar_AA, with other words and other names).
    "uk_UA": ("Зустріч з {name}", "Співбесіда: {company}", "Поїздка до {city}", "Огляд квартири, {street}"),
    "el_GR": ("Συνάντηση με {name}", "Συνέντευξη στην {company}", "Ταξίδι: {city}", "Επίσκεψη, {street}"),
    "he_IL": ("פגישה עם {name}", "ראיון עבודה: {company}", "נסיעה ל{city}", "ביקור ב{street}"),
    "fa_IR": ("جلسه با {name}", "مصاحبه در {company}", "سفر به {city}", "بازدید از {street}"),
    "ne_NP": ("{name}सँग भेट", "{company}मा अन्तर्वार्ता", "{city} भ्रमण", "{street} घुम्न"),
    "bn_BD": ("{name}-এর সাথে আলোচনা", "{company} সাক্ষাৎকার", "{city} ভ্রমণ", "{city}-এ দাওয়াত"),
    "th_TH": ("ประชุมกับ{name}", "สัมภาษณ์งานที่{company}", "เดินทางไป{city}", "ดูบ้านที่{street}"),
    "zh_TW": ("和{name}見面", "{company}面談", "到{city}出差", "{street}看房子"),
    "vi_VN": ("Họp với {name}", "Phỏng vấn tại {company}", "Đi {city}", "Xem nhà ở {street}"),
    "cs_CZ": ("Schůzka s {name}", "Pohovor: {company}", "Cesta do {city}", "Prohlídka bytu, {street}"),
    "sv_SE": ("Möte med {name}", "Intervju hos {company}", "Resa till {city}", "Visning: {street}"),
    "id_ID": ("Rapat dengan {name}", "Wawancara di {company}", "Perjalanan ke {city}", "Kunjungan ke {street}"),
}
HELDOUT_LOCAL = {
    "es_MX": ("Junta con {name}", "Cita con {company}", "Ir a {city}", "Comida en {street}"),
    "nl_NL": ("Afspraak met {name}", "Sollicitatie bij {company}", "Naar {city}", "Bezichtiging {street}"),
    "pl_PL": ("Spotkanie z {name}", "Rozmowa w {company}", "Wyjazd do {city}", "Oglądanie mieszkania: {street}"),
    "ko_KR": ("{name}님과 회의", "{company} 면접", "{city} 출장", "{street} 방문"),
    "hi_IN": ("{name} के साथ बैठक", "{company} में साक्षात्कार", "{city} की यात्रा", "{city} में मीटिंग"),
    "ar_AA": ("اجتماع مع {name}", "مقابلة في {company}", "غداء مع {name}", "زيارة {company}"),
    "tr_TR": ("{name} ile toplantı", "{company} görüşmesi", "{city} gezisi", "{street} ziyareti"),
}

# Held-out English groups: themes the training pool never uses.
HELDOUT_TEMPLATES: dict[str, list[str]] = {
    "pets": ["Walk the dog", "Vet: {pet}'s vaccines", "Groom {pet}", "Puppy class #{n}", "Feed {pet} (and the fish)",
             "Buy cat litter", "Vet check-up ({pet})", "Dog park w/ {pet}", "Pet-sitter: {pet}", "Clean the hamster cage"],
    "home repairs": ["Plumber (leaky tap)", "Electrician @ {street}", "Fix the fence", "Paint the hallway",
                     "Boiler service #{n}", "Assemble wardrobe", "Locksmith", "Replace smoke alarm battery",
                     "Roofer quote: {roof}", "Regrout shower", "IKEA trip: shelf #{n}",
                     "Meet the builder about the {roof} and the back garden wall ({street})"],
    "gardening": ["Mow the lawn", "Plant {plant}", "Prune the {plant}", "Compost heap", "Allotment: {plant}",
                  "Water the {plant}", "Garden centre: {plant} seeds", "Rake leaves", "Weed the beds (front)"],
    "money & admin": ["Tax return ({year})", "Pay rent", "Renew car insurance", "Budget spreadsheet: {month}",
                      "Mortgage advisor", "Pension check-in", "Cancel gym membership", "Council tax #{n}",
                      "Sort receipts ({month})", "Accountant: {year} books"],
    "music & arts": ["Piano practice", "Guitar lesson #{n}", "Choir rehearsal", "Pottery class",
                     "Life drawing (week {n})", "Band practice @ {street}", "Violin: scales & arpeggios",
                     "Gallery: {month} exhibition", "Sketching in the park", "Drum lesson (grade {grade})"],
    "volunteering": ["Food bank shift", "Beach clean-up", "Soup kitchen", "Charity run sign-up",
                     "Tutoring (maths, year {grade})", "Blood donation", "Repair café #{n}",
                     "Animal shelter: {pet}", "Community garden: {plant}", "Litter pick ({month})"],
    "cooking": ["Bake sourdough", "Cooking class: {dish}", "Make {dish}", "Prep {dish} for 6", "Jam-making",
                "Pasta night: {dish}", "Try new recipe #{n}", "Batch-cook {dish} & freeze", "Knife skills class"],
}
PETS = ["Biscuit", "Luna", "Max", "Pepper", "Miso", "Rex", "Nala", "Oreo", "Coco", "Simba", "Tofu", "Ziggy"]
PLANTS = ["tomatoes", "roses", "basil", "apple tree", "hydrangeas", "lavender", "courgettes", "tulip bulbs",
          "hedge", "strawberries", "sunflowers", "olive tree"]
DISHES = ["lasagne", "paella", "ramen", "curry", "dumplings", "moussaka", "tacos", "risotto", "pierogi",
          "shakshuka", "gnocchi", "pho", "biryani", "goulash"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
ROOFS = ["gutters", "chimney", "skylight", "flat roof", "tiles"]


def _fill(template: str, rng: random.Random, fake, extra: dict[str, list[str]]) -> str:
    """One template with its slots filled; slots absent from the template draw nothing (stable)."""
    values: dict[str, str] = {}
    fakers: dict[str, Callable[[], str]] = {
        "first": fake.first_name, "first2": fake.first_name, "last": fake.last_name, "person": fake.name,
        "name": fake.name, "company": fake.company, "city": fake.city, "street": fake.street_name,
    }
    numbers = {"n": lambda: str(rng.choice([rng.randint(1, 99), rng.randint(100, 999), rng.randint(1000, 9999)])),
               "q": lambda: str(rng.randint(1, 4)), "year": lambda: str(rng.randint(2019, 2027)),
               "grade": lambda: str(rng.randint(1, 8))}
    for slot in _slots(template):
        if slot in extra:
            values[slot] = rng.choice(extra[slot])
        elif slot in numbers:
            values[slot] = numbers[slot]()
        elif slot in fakers:
            values[slot] = fakers[slot]()
        else:
            raise KeyError(f"unknown slot {{{slot}}} in {template!r}")
    return " ".join(template.format(**values).split())


def _slots(template: str) -> list[str]:
    import string

    return [field for _, field, _, _ in string.Formatter().parse(template) if field]


def _valid(name: str, refused: set[str]) -> bool:
    if name.casefold() in refused or len(name) > MAX_NAME_LENGTH:
        return False
    try:
        _check_name(name)
    except SchedulerError:
        return False
    return True


def _group(templates: Iterable[str], rng: random.Random, fake, extra: dict[str, list[str]], size: int,
           refused: set[str]) -> list[str]:
    """Up to ``size`` distinct valid names from the templates (each template tried in turn)."""
    templates = list(templates)
    names: list[str] = []
    seen: set[str] = set()
    for attempt in range(size * 20):
        if len(names) >= size:
            break
        name = _fill(templates[attempt % len(templates)], rng, fake, extra)
        key = name.casefold()
        if key not in seen and _valid(name, refused):
            seen.add(key)
            names.append(name)
    return names


CODE_WORDS = ["Ticket", "Room", "Gate", "Ref", "Task", "Job", "Order", "Case", "Slot", "Lab", "Sprint", "Batch"]


def _codes(rng: random.Random, size: int, refused: set[str]) -> list[str]:
    """``size`` distinct names like "Ticket QX-4821", "Lab 3.14b", "kzv-77 / Batch 9": random letters and digits."""
    import string

    def code() -> str:
        letters = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(2, 4)))
        digits = "".join(rng.choices(string.digits, k=rng.randint(1, 5)))
        return rng.choice([f"{letters}-{digits}", f"{letters}{digits}", f"{digits}.{digits[::-1]}{letters[0].lower()}",
                           f"{letters.lower()}-{digits}", f"{letters}/{digits}"])

    names: list[str] = []
    seen: set[str] = set()
    while len(names) < size:
        name = rng.choice([f"{rng.choice(CODE_WORDS)} {code()}", code(), f"{code()} / {rng.choice(CODE_WORDS)} {code()}"])
        if name.casefold() not in seen and _valid(name, refused):
            seen.add(name.casefold())
            names.append(name)
    return names


def build_pools(seed: int = BUILD_SEED) -> dict[str, dict[str, list[str]]]:
    """Both pools, deterministic for a seed and a pinned faker; held-out first, then training minus it."""
    try:
        from faker import Faker
    except ImportError:  # pragma: no cover - only the rebuild needs it
        raise SchedulerError("Rebuilding the name pools needs the faker package (see requirements.txt).") from None

    def faker_for(locale: str, salt: str):
        fake = Faker(locale)
        fake.seed_instance(f"{seed}:{salt}:{locale}")
        for provider in fake.get_providers():
            # it_IT builds its city list from a set, whose order changes with PYTHONHASHSEED.
            if isinstance(getattr(provider, "cities", None), list):
                provider.cities = sorted(provider.cities)
        return fake

    canonical = _canonical_casefolded()
    extra = {"topic": TOPICS, "subject": SUBJECTS, "item": ITEMS, "feature": FEATURES, "airline": AIRLINES,
             "pet": PETS, "plant": PLANTS, "dish": DISHES, "month": MONTHS, "roof": ROOFS}

    # Held-out: its own themes, its own locales.
    rng = random.Random(f"{seed}:heldout")
    refused = set(canonical)
    heldout: dict[str, list[str]] = {}
    en = faker_for("en_IE", "heldout")  # an English locale training does not use, for {street} and the like
    for group, templates in HELDOUT_TEMPLATES.items():
        heldout[group] = _group(templates, rng, en, extra, 55, refused)
        refused |= {n.casefold() for n in heldout[group]}
    for locale, templates in HELDOUT_LOCAL.items():
        heldout[f"local {locale}"] = _group(templates, rng, faker_for(locale, "heldout"), extra, 45, refused)
        refused |= {n.casefold() for n in heldout[f"local {locale}"]}

    # Training: everything held out (and canonical) is refused, compared case-insensitively.
    rng = random.Random(f"{seed}:train")
    train: dict[str, list[str]] = {}
    for i, (group, templates) in enumerate(_train_templates().items()):
        locale = TRAIN_LOCALES[i % 2]  # en_US / en_GB fillers for the English templates
        train[group] = _group(templates, rng, faker_for(locale, f"train:{group}"), extra, 110, refused)
        refused |= {n.casefold() for n in train[group]}
    for locale, templates in TRAIN_LOCAL.items():
        fake = faker_for(locale, "train")
        for kind, template in zip(("people", "companies", "cities", "places"), templates):
            group = f"{kind} {locale}"
            train[group] = _group([template], rng, fake, extra, 50, refused)
            refused |= {n.casefold() for n in train[group]}
        names = _group(["{name}"], rng, fake, extra, 30, refused)  # a calendar entry that is just a person
        train[f"names {locale}"] = names
        refused |= {n.casefold() for n in names}
    # Strings no language model has a prior for (ticket keys, rooms, flight codes): copying them is all it can do.
    train["codes"] = _codes(rng, 200, refused)
    refused |= {n.casefold() for n in train["codes"]}

    for pool in (train, heldout):
        for group in list(pool):
            pool[group] = sorted(pool[group])
            if len(pool[group]) < MIN_GROUP_SIZE:
                del pool[group]  # a locale whose filler repeats too much
    return {"train": train, "heldout": heldout}


def write_pools(pools: dict[str, dict[str, list[str]]], folder: Path = NAMES_DIR) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for pool, groups in pools.items():
        text = json.dumps(groups, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        (folder / f"{pool}.json").write_text(text, encoding="utf-8")
    name_pool.cache_clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Event-name pools for the generator.")
    parser.add_argument("--build", action="store_true", help="regenerate data/names/{train,heldout}.json with faker")
    parser.add_argument("--seed", type=int, default=BUILD_SEED)
    args = parser.parse_args(argv)
    if args.build:
        pools = build_pools(args.seed)
        write_pools(pools)
    for pool in POOLS:
        groups = name_pool(pool)
        print(f"{pool}: {sum(map(len, groups.values()))} names in {len(groups)} groups", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The demo city's reference data: causes, neighborhoods, skills, languages, organizations and
the people whose logins the README and `flask seed logins` print.

The city is modelled on Washington, DC (its neighborhoods, ZIP codes and 202 area code), with
three priority neighborhoods east of the Anacostia River, where the program focuses.
"""

from __future__ import annotations

from dataclasses import dataclass

DEMO_PASSWORD = "volunteer123"  # noqa: S105 - printed on purpose; demo data only
DEMO_TIMEZONE = "America/New_York"

CAUSES = (
    ("neighborhood-revitalization", "Neighborhood revitalization"),
    ("environment", "Environment and green spaces"),
    ("education", "Education and literacy"),
    ("emergency-preparedness", "Emergency preparedness"),
    ("food-security", "Food security"),
    ("housing-energy", "Housing and home energy"),
    ("older-adults", "Older adults"),
)

SKILLS = (
    ("gardening", "Gardening"),
    ("tutoring", "Tutoring"),
    ("spanish-outreach", "Spanish-language outreach"),
    ("first-aid", "First aid / CPR"),
    ("heavy-lifting", "Heavy lifting"),
    ("data-entry", "Data entry"),
    ("carpentry", "Carpentry and weatherizing"),
    ("driving", "Driving (own car)"),
)

# Each language under its own name, as people look for it.
LANGUAGES = (
    ("en", "English"),
    ("es", "Español"),
    ("zh", "中文"),
    ("vi", "Tiếng Việt"),
    ("ht", "Kreyòl ayisyen"),
)


@dataclass(frozen=True)
class NeighborhoodData:
    slug: str
    name: str
    zip_codes: str
    lat: float
    lon: float
    is_priority: bool = False


NEIGHBORHOODS = (
    NeighborhoodData("anacostia", "Anacostia", "20020", 38.8623, -76.9850, True),
    NeighborhoodData("congress-heights", "Congress Heights", "20032", 38.8330, -76.9960, True),
    NeighborhoodData("deanwood", "Deanwood", "20019", 38.9080, -76.9350, True),
    NeighborhoodData("columbia-heights", "Columbia Heights", "20010", 38.9283, -77.0325),
    NeighborhoodData("petworth", "Petworth", "20011", 38.9426, -77.0244),
    NeighborhoodData("brookland", "Brookland", "20017 20018", 38.9330, -76.9860),
    NeighborhoodData("shaw", "Shaw", "20001", 38.9124, -77.0215),
    NeighborhoodData("capitol-hill", "Capitol Hill", "20002 20003", 38.8867, -76.9960),
    NeighborhoodData("adams-morgan", "Adams Morgan", "20009", 38.9215, -77.0422),
    NeighborhoodData("brightwood", "Brightwood", "20011 20012", 38.9600, -77.0280),
)


@dataclass(frozen=True)
class OrganizationData:
    slug: str
    name: str
    kind: str
    website: str
    coordinator_email: str
    coordinator_name: str


ORGANIZATIONS = (
    OrganizationData(
        "public-works",
        "Department of Public Works",
        "department",
        "https://city.example/dpw",
        "publicworks@city.example",
        "Dana Brooks",
    ),
    OrganizationData(
        "parks",
        "Department of Parks and Recreation",
        "department",
        "https://city.example/parks",
        "parks@city.example",
        "Luis Ortega",
    ),
    OrganizationData(
        "library",
        "City Public Library",
        "department",
        "https://library.city.example",
        "library@city.example",
        "Grace Kim",
    ),
    OrganizationData(
        "riverside-food-bank",
        "Riverside Community Food Bank",
        "nonprofit",
        "https://riversidefoodbank.example",
        "foodbank@city.example",
        "Tasha Williams",
    ),
    OrganizationData(
        "east-of-the-river-neighbors",
        "East of the River Neighbors Association",
        "nonprofit",
        "https://eastoftheriver.example",
        "neighbors@city.example",
        "Minh Nguyen",
    ),
)

ADMIN_EMAIL = "admin@city.example"
ADMIN_NAME = "Alex Morgan"
# Two volunteers whose logins are printed: one reads the site in English, one in Spanish.
VOLUNTEER_EMAIL = "volunteer@city.example"
SPANISH_VOLUNTEER_EMAIL = "maria@city.example"

# Name pools for the other volunteers by the language they speak at home, drawn
# deterministically, so a Spanish speaker reads the site in Spanish and so on.
NAME_POOLS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "en": (
        ("Aaliyah", "Andre", "Keisha", "Marcus", "Jasmine", "Darnell", "Imani", "Tyrone",
         "Brianna", "Malik", "Emily", "Ryan", "Sarah", "David", "Hannah", "Kevin", "Priya",
         "Omar", "Fatima", "Samuel", "Grace", "Noah", "Abigail", "Elijah", "Nia"),
        ("Johnson", "Williams", "Brown", "Jackson", "Harris", "Thomas", "Robinson", "Walker",
         "Green", "Carter", "Miller", "Davis", "Wilson", "Anderson", "Patel", "Ali", "Okafor",
         "Mensah", "Cohen", "Murphy", "Kim", "Bekele", "Tesfaye"),
    ),
    "es": (
        ("Sofía", "Carlos", "Lucía", "José", "Valeria", "Miguel", "Camila", "Diego", "Ana",
         "Luis", "Gabriela", "Javier"),
        ("Hernández", "Martínez", "López", "Ramírez", "Flores", "Cruz", "Reyes", "Morales",
         "Castillo", "Vásquez"),
    ),
    "zh": (("Wei", "Mei", "Jun", "Lan"), ("Chen", "Wang", "Li", "Zhang")),
    "vi": (("Linh", "Thanh", "Quang", "Mai"), ("Nguyen", "Tran", "Pham", "Le")),
    "ht": (("Jean", "Marie", "Widlyne", "Frantz"), ("Pierre", "Joseph", "Baptiste", "Charles")),
}  # fmt: skip

"""The demo city's initiatives and their shift series, as plain data the builder turns into rows.

Weeks count from today in each initiative's own time zone: a series runs from `first_week`
(negative: weeks ago) up to but not including `end_week`, so the demo always has months of
history behind it and weeks of shifts ahead, whenever it is seeded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from volunteer_app.initiatives.models import InitiativeStatus

MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)
WEEKS_BACK = 17  # about four months of history
WEEKS_AHEAD = 8


@dataclass(frozen=True)
class Place:
    name: str
    address: str
    neighborhood: str | None  # a neighborhood slug; None for online shifts


@dataclass(frozen=True)
class SeriesPlan:
    weekday: int
    starts: dt.time
    minutes: int
    capacity: int
    places: tuple[Place, ...]
    first_week: int = -WEEKS_BACK
    end_week: int = WEEKS_AHEAD
    every_weeks: int = 1
    role: str | None = None
    effort: str | None = None
    description: str = ""
    # Labels the builder uses to pick how outcomes accrue ("litter", "graffiti", ...).
    activity: str = ""


@dataclass(frozen=True)
class InitiativePlan:
    slug: str
    title: str
    summary: str
    story: str
    blueprint: str
    organization: str
    metric_keys: tuple[str, ...]
    series: tuple[SeriesPlan, ...]
    status: InitiativeStatus = InitiativeStatus.PUBLISHED
    timezone: str = "America/New_York"
    minimum_age: int = 0
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ("en",)
    # Where this initiative should stand against its targets today (a fraction of each).
    progress: tuple[float, float] = (0.4, 0.8)
    cancelled_weeks: tuple[int, ...] = field(default=())


GOOD_HOPE = Place("Good Hope Road corridor", "1300 Good Hope Rd SE", "anacostia")
MLK_AVE = Place(
    "Martin Luther King Jr Avenue", "2900 Martin Luther King Jr Ave SE", "congress-heights"
)
GEORGIA_AVE = Place("Georgia Avenue at Upshur Street", "4200 Georgia Ave NW", "petworth")
NANNIE_HELEN = Place(
    "Nannie Helen Burroughs Avenue", "4800 Nannie Helen Burroughs Ave NE", "deanwood"
)
BENNING_UNDERPASS = Place("Benning Road underpass", "Benning Rd & Minnesota Ave NE", "deanwood")
ANACOSTIA_PARK = Place("Anacostia Park, Section E", "1900 Anacostia Dr SE", "anacostia")
FORT_DUPONT = Place("Fort Dupont Park", "3600 F St SE", "deanwood")
PINEY_BRANCH = Place("Rock Creek at Piney Branch", "Piney Branch Pkwy & 16th St NW", "brightwood")
BROOKLAND_GARDEN = Place("10th Street rain garden", "3500 10th St NE", "brookland")
CIVIC_PLAZA = Place("Columbia Heights Civic Plaza", "14th St & Park Rd NW", "columbia-heights")
ANACOSTIA_LIBRARY = Place("Anacostia Neighborhood Library", "1800 Good Hope Rd SE", "anacostia")
PETWORTH_LIBRARY = Place("Petworth Neighborhood Library", "4200 Kansas Ave NW", "petworth")
ONLINE = Place("Online video call", "The link is emailed to confirmed tutors", None)
CONGRESS_HEIGHTS_REC = Place(
    "Congress Heights Recreation Center", "611 Alabama Ave SE", "congress-heights"
)
DEANWOOD_REC = Place("Deanwood Recreation Center", "1350 49th St NE", "deanwood")
COLUMBIA_HEIGHTS_CC = Place(
    "Columbia Heights Community Center", "1480 Girard St NW", "columbia-heights"
)
DEANWOOD_GARDEN = Place("Deanwood Community Garden", "4900 Sheriff Rd NE", "deanwood")
TWIN_OAKS_GARDEN = Place("Twin Oaks Community Garden", "14th St & Taylor St NW", "petworth")
FOOD_BANK_PANTRY = Place("Riverside Food Bank pantry", "2400 Shannon Pl SE", "anacostia")
HOMES_CONGRESS_HEIGHTS = Place(
    "Homes in Congress Heights", "Addresses are sent to confirmed volunteers", "congress-heights"
)
HOMES_ANACOSTIA = Place(
    "Homes in Anacostia", "Addresses are sent to confirmed volunteers", "anacostia"
)
HOMES_BROOKLAND = Place(
    "Homes in Brookland", "Addresses are sent to confirmed volunteers", "brookland"
)
SHEPHERD_PARKWAY = Place("Shepherd Parkway", "Malcolm X Ave & I-295 SE", "congress-heights")
LANGDON_PARK = Place("Langdon Park", "2901 20th St NE", "brookland")
RAYMOND_SCHOOL = Place("Raymond Elementary School yard", "915 Spring Rd NW", "petworth")


PLANS: tuple[InitiativePlan, ...] = (
    InitiativePlan(
        slug="love-your-block-east",
        title="Love Your Block: East of the River",
        summary="Saturday clean-ups that turn littered corridors and vacant lots into blocks "
        "neighbors are proud of.",
        story="Residents chose these blocks. Public Works brings gloves, grabbers, paint and "
        "trucks; you bring a couple of hours on a Saturday morning. Every bag is weighed so "
        "the whole city can see what we did together.",
        blueprint="love-your-block",
        organization="public-works",
        metric_keys=("litter", "graffiti", "trees", "green_spaces"),
        skills=("heavy-lifting", "gardening"),
        languages=("en", "es"),
        series=(
            SeriesPlan(
                SATURDAY,
                dt.time(9, 0),
                180,
                20,
                (GOOD_HOPE, MLK_AVE, GEORGIA_AVE, NANNIE_HELEN),
                effort="moderate",
                description="Meet at the Public Works truck. Gloves, grabbers and water "
                "provided; wear closed shoes.",
                activity="cleanup",
            ),
            SeriesPlan(
                WEDNESDAY,
                dt.time(17, 30),
                120,
                8,
                (BENNING_UNDERPASS, MLK_AVE),
                first_week=-10,
                role="Graffiti crew",
                effort="moderate",
                description="Paint over tagged walls with matched city paint. Old clothes!",
                activity="graffiti",
            ),
        ),
    ),
    InitiativePlan(
        slug="storm-busters",
        title="Storm Busters: Trees and Rain Gardens",
        summary="Plant trees and rain gardens that soak up stormwater before it floods our "
        "streets and the Anacostia.",
        story="Every tree we plant catches thousands of gallons of rain a year. Parks and "
        "Recreation foresters lead each planting; a year later we count how many are still "
        "thriving.",
        blueprint="storm-busters",
        organization="parks",
        metric_keys=("trees", "rain_gardens", "riverbank", "trees_alive"),
        skills=("gardening", "heavy-lifting"),
        languages=("en", "es"),
        cancelled_weeks=(3,),
        series=(
            SeriesPlan(
                SATURDAY,
                dt.time(9, 0),
                240,
                15,
                (ANACOSTIA_PARK, FORT_DUPONT, PINEY_BRANCH),
                first_week=-16,
                effort="heavy",
                description="Planting with a Parks forester. Shovels and gloves provided.",
                activity="planting",
            ),
            SeriesPlan(
                WEDNESDAY,
                dt.time(17, 30),
                120,
                8,
                (BROOKLAND_GARDEN, CIVIC_PLAZA),
                first_week=-16,
                role="Rain garden steward",
                effort="light",
                description="Weed, mulch and check the inlets of a neighborhood rain garden.",
                activity="rain_garden",
            ),
        ),
    ),
    InitiativePlan(
        slug="third-grade-reads",
        title="Third Grade Reads",
        summary="Read one-on-one with a second or third grader after school, once a week.",
        story="Children who read at grade level by the end of third grade are far more likely "
        "to finish school. The Public Library trains every tutor and provides the books; the "
        "schools measure reading levels in the fall and at mid-year.",
        blueprint="third-grade-reads",
        organization="library",
        metric_keys=("students", "tutoring_hours", "reading_level"),
        skills=("tutoring",),
        languages=("en", "es"),
        series=(
            SeriesPlan(
                TUESDAY,
                dt.time(15, 30),
                90,
                6,
                (ANACOSTIA_LIBRARY,),
                first_week=-14,
                role="Reading tutor",
                effort="light",
                description="Tutoring in the children's room. Training session on your first day.",
                activity="tutoring",
            ),
            SeriesPlan(
                THURSDAY,
                dt.time(15, 30),
                90,
                6,
                (PETWORTH_LIBRARY,),
                first_week=-14,
                role="Reading tutor",
                effort="light",
                description="Tutoring in the community room; Spanish speakers especially welcome.",
                activity="tutoring",
            ),
        ),
    ),
    InitiativePlan(
        slug="read-together-online",
        title="Read Together Online",
        summary="Tutor a third grader at our partner school in Chicago by video call, from home.",
        story="Our sister-city partnership with a Chicago elementary school: tutors join "
        "from home and read with the same child every week. Session times follow the "
        "school's clock, in Chicago time.",
        blueprint="third-grade-reads",
        organization="library",
        metric_keys=("students", "tutoring_hours"),
        timezone="America/Chicago",
        skills=("tutoring",),
        languages=("en",),
        series=(
            SeriesPlan(
                MONDAY,
                dt.time(16, 0),
                60,
                5,
                (ONLINE,),
                first_week=-10,
                role="Online reading tutor",
                effort="light",
                description="A laptop with a camera and a quiet room is all you need.",
                activity="online_tutoring",
            ),
        ),
    ),
    InitiativePlan(
        slug="prepared-is-protected",
        title="Prepared Is Protected",
        summary="Go door to door, in the languages your neighbors speak, helping households "
        "make an emergency plan and kit.",
        story="When the power goes out or the river rises, neighbors who planned ahead "
        "recover sooner. The Neighbors Association trains every volunteer, then we canvass "
        "in pairs with kits and translated guides.",
        blueprint="prepared-is-protected",
        organization="east-of-the-river-neighbors",
        metric_keys=("households", "trained"),
        skills=("spanish-outreach", "first-aid"),
        languages=("en", "es", "zh", "vi", "ht"),
        series=(
            SeriesPlan(
                THURSDAY,
                dt.time(18, 0),
                120,
                10,
                (CONGRESS_HEIGHTS_REC, DEANWOOD_REC, COLUMBIA_HEIGHTS_CC),
                first_week=-12,
                effort="moderate",
                description="Pick up kits and a route at the center, canvass in pairs.",
                activity="canvass",
            ),
            SeriesPlan(
                SATURDAY,
                dt.time(10, 0),
                240,
                8,
                (CONGRESS_HEIGHTS_REC, DEANWOOD_REC),
                first_week=-12,
                every_weeks=2,
                role="Preparedness fair host",
                effort="light",
                description="Staff a table at the preparedness fair; translated guides on hand.",
                activity="fair",
            ),
        ),
    ),
    InitiativePlan(
        slug="lets-grow",
        title="Let's Grow: Community Gardens",
        summary="Tend community garden plots and hand out the harvest at the food bank pantry.",
        story="Fresh vegetables are the hardest thing for a food pantry to stock. Our "
        "volunteers keep shared plots growing all season and bring the harvest straight to "
        "families at the Riverside pantry.",
        blueprint="lets-grow",
        organization="riverside-food-bank",
        metric_keys=("plots", "produce", "families"),
        skills=("gardening", "driving"),
        languages=("en", "es"),
        series=(
            SeriesPlan(
                SATURDAY,
                dt.time(8, 0),
                180,
                12,
                (DEANWOOD_GARDEN, TWIN_OAKS_GARDEN),
                effort="moderate",
                description="Weeding, watering and harvesting. Tools and gloves provided.",
                activity="garden",
            ),
            SeriesPlan(
                WEDNESDAY,
                dt.time(16, 30),
                120,
                8,
                (FOOD_BANK_PANTRY,),
                role="Pantry helper",
                effort="light",
                description="Sort and hand out fresh produce at the pantry.",
                activity="pantry",
            ),
        ),
    ),
    InitiativePlan(
        slug="home-energy-makeover",
        title="Home Energy Makeover",
        summary="Weatherize the homes of older neighbors: seal drafts, insulate pipes, "
        "install LED bulbs.",
        story="A drafty house can cost a retiree hundreds of dollars a winter. Teams led by "
        "Public Works building staff audit each home, then come back to fix what they found. "
        "Volunteers must be 18 or older because of the tools involved.",
        blueprint="home-energy-makeover",
        organization="public-works",
        metric_keys=("audits", "retrofits"),
        minimum_age=18,
        skills=("carpentry", "heavy-lifting"),
        languages=("en",),
        series=(
            SeriesPlan(
                SATURDAY,
                dt.time(9, 0),
                360,
                8,
                (HOMES_CONGRESS_HEIGHTS, HOMES_ANACOSTIA, HOMES_BROOKLAND),
                first_week=-8,
                every_weeks=2,
                effort="heavy",
                description="Full day with a lunch break; safety glasses provided.",
                activity="weatherize",
            ),
        ),
    ),
    InitiativePlan(
        slug="fall-tree-planting",
        title="Fall Tree Planting",
        summary="Last season's push to plant street trees along Shepherd Parkway and in "
        "Langdon Park.",
        story="The season is over: thank you to everyone who planted. The survival check "
        "comes next year.",
        blueprint="storm-busters",
        organization="parks",
        metric_keys=("trees", "rain_gardens"),
        status=InitiativeStatus.CLOSED,
        skills=("gardening",),
        languages=("en",),
        progress=(0.9, 1.1),
        series=(
            SeriesPlan(
                SUNDAY,
                dt.time(10, 0),
                180,
                15,
                (SHEPHERD_PARKWAY, LANGDON_PARK),
                end_week=-8,
                effort="heavy",
                description="Street tree planting with a Parks forester.",
                activity="planting",
            ),
        ),
    ),
    InitiativePlan(
        slug="schoolyard-gardens",
        title="Schoolyard Gardens",
        summary="Build raised beds with students and teachers at Raymond Elementary.",
        story="Still being planned with the school: dates and goals may change before we publish.",
        blueprint="lets-grow",
        organization="parks",
        metric_keys=("plots", "produce"),
        status=InitiativeStatus.DRAFT,
        skills=("gardening", "carpentry"),
        languages=("en", "es"),
        series=(
            SeriesPlan(
                SATURDAY,
                dt.time(10, 0),
                120,
                10,
                (RAYMOND_SCHOOL,),
                first_week=4,
                effort="moderate",
                description="Build and fill raised beds.",
                activity="garden",
            ),
        ),
    ),
)

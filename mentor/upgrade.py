"""Progress kept under an older catalog, brought up to this one.

Step ids name the steps of one catalog. When the catalog is renumbered (issue 36: books became
chapters, and ``py-1 … py-15`` now name what ``py-1 … py-6`` named before), a learner's stored
progress still names the old ids. Each progress entry says which catalog its ids are from
(``"catalog"``; an entry without it is from the first one), and the first mentor action of a turn
brings every entry of the conversation up to this catalog:

- what the learner had of an old step (its resource, or its alternative once they asked for
  another way) maps to the steps of this catalog whose resource or alternative is the same link,
  or a page under it (a chapter of the book the old step handed out whole), and those steps keep
  showing that resource;
- ``done``, ``skipped``, ``offered`` and ``next`` move to those steps; an old step none covers is
  dropped: its resource is no longer in the catalog;
- the card on screen (``slots["shown"]``) and a button of an old card pressed in the turn that
  upgrades are read with the old ids; an old card whose resource is gone says so and shows the
  next step;
- the person hears once that the catalog changed and their progress moved over.

The first catalog's links are kept below, as they were; they are never edited.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from chatbot.engine.context import Context
from chatbot.engine.types import Reply

CATALOG_VERSION = 2  # the catalog whose step ids a progress entry names; bump when ids change meaning
NEWS = "catalog_news"  # a slot: the catalog changed under this learner's plan, and they have not heard it yet

# The first catalog: each old step's resource and alternative, by skill and old step id.
FIRST_CATALOG: dict[str, dict[str, tuple[str, str]]] = {
    "python": {
        # The Python Tutorial / Learn Python (interactive)
        "py-1": ("https://docs.python.org/3/tutorial/", "https://www.learnpython.org/"),
        # Automate the Boring Stuff with Python / Learn Python: full course for beginners
        "py-2": ("https://automatetheboringstuff.com/", "https://www.youtube.com/watch?v=rfscVS0vtbw"),
        # Python for Everybody / Think Python, 3rd edition
        "py-3": ("https://www.py4e.com/", "https://allendowney.github.io/ThinkPython/"),
        # Python Virtual Environments: A Primer / Virtual Environments and Packages
        "py-4": (
            "https://realpython.com/python-virtual-environments-a-primer/",
            "https://docs.python.org/3/tutorial/venv.html",
        ),
        # The Python data model / Transforming Code into Beautiful, Idiomatic Python
        "py-5": ("https://docs.python.org/3/reference/datamodel.html", "https://www.youtube.com/watch?v=OSGv2VnC0go"),
        # Fluent Python, 2nd edition / Architecture Patterns with Python
        "py-6": (
            "https://www.oreilly.com/library/view/fluent-python-2nd/9781492056348/",
            "https://www.cosmicpython.com/book/preface.html",
        ),
    },
    "git": {
        # Learn Git Branching / Getting started with Git
        "git-1": (
            "https://learngitbranching.js.org/",
            "https://docs.github.com/en/get-started/getting-started-with-git",
        ),
        # Pro Git: Getting Started / Git and GitHub for Beginners: Crash Course
        "git-2": (
            "https://git-scm.com/book/en/v2/Getting-Started-About-Version-Control",
            "https://www.youtube.com/watch?v=RGOj5yH7evk",
        ),
        # Pro Git: Git Branching / Using branches
        "git-3": (
            "https://git-scm.com/book/en/v2/Git-Branching-Branches-in-a-Nutshell",
            "https://www.atlassian.com/git/tutorials/using-branches",
        ),
        # Oh Shit, Git!?! / Pro Git: Undoing Things
        "git-4": ("https://ohshitgit.com/", "https://git-scm.com/book/en/v2/Git-Basics-Undoing-Things"),
        # Git from the Bottom Up / Git for Professionals
        "git-5": ("https://jwiegley.github.io/git-from-the-bottom-up/", "https://www.youtube.com/watch?v=Uszj_k0DGsg"),
        # Pro Git: Git Internals / Think Like (a) Git
        "git-6": (
            "https://git-scm.com/book/en/v2/Git-Internals-Plumbing-and-Porcelain",
            "https://think-like-a-git.net/",
        ),
    },
    "sql": {
        # SQLBolt lessons / SQL Tutorial
        "sql-1": ("https://sqlbolt.com/", "https://www.w3schools.com/sql/"),
        # Select Star SQL / SQL: full database course for beginners
        "sql-2": ("https://selectstarsql.com/", "https://www.youtube.com/watch?v=HXV3zeQKqGY"),
        # The PostgreSQL tutorial / PostgreSQL Exercises
        "sql-3": ("https://www.postgresql.org/docs/current/tutorial.html", "https://pgexercises.com/"),
        # SQLite: the SELECT statement / A Visual Explanation of SQL Joins
        "sql-4": (
            "https://www.sqlite.org/lang_select.html",
            "https://blog.codinghorror.com/a-visual-explanation-of-sql-joins/",
        ),
        # Use The Index, Luke / Intro to Database Systems (CMU 15-445)
        "sql-5": ("https://use-the-index-luke.com/", "https://15445.courses.cs.cmu.edu/"),
        # Modern SQL / PostgreSQL: window functions
        "sql-6": ("https://modern-sql.com/", "https://www.postgresql.org/docs/current/tutorial-window.html"),
    },
    "web": {
        # Learn web development / Responsive Web Design
        "web-1": (
            "https://developer.mozilla.org/en-US/docs/Learn",
            "https://www.freecodecamp.org/learn/2022/responsive-web-design/",
        ),
        # Learn HTML / HTML basics
        "web-2": (
            "https://web.dev/learn/html",
            "https://developer.mozilla.org/en-US/docs/Learn/Getting_started_with_the_web/HTML_basics",
        ),
        # Learn CSS / Flexbox Froggy
        "web-3": ("https://web.dev/learn/css", "https://flexboxfroggy.com/"),
        # The Modern JavaScript Tutorial / JavaScript Algorithms and Data Structures
        "web-4": (
            "https://javascript.info/",
            "https://www.freecodecamp.org/learn/javascript-algorithms-and-data-structures-v8/",
        ),
        # Eloquent JavaScript, 4th edition / You Don't Know JS Yet
        "web-5": ("https://eloquentjavascript.net/", "https://github.com/getify/You-Dont-Know-JS"),
        # Learn Performance / Web Vitals
        "web-6": ("https://web.dev/learn/performance", "https://web.dev/articles/vitals"),
    },
    "ml": {
        # But what is a neural network? / Elements of AI
        "ml-1": ("https://www.youtube.com/watch?v=aircAruvnKk", "https://www.elementsofai.com/"),
        # Machine Learning Crash Course / Machine Learning for Everybody
        "ml-2": (
            "https://developers.google.com/machine-learning/crash-course",
            "https://www.youtube.com/watch?v=i_LwzRVP7bg",
        ),
        # scikit-learn tutorials / Intro to Machine Learning
        "ml-3": (
            "https://scikit-learn.org/stable/tutorial/index.html",
            "https://www.kaggle.com/learn/intro-to-machine-learning",
        ),
        # Practical Deep Learning for Coders / Introduction to Deep Learning (6.S191)
        "ml-4": ("https://course.fast.ai/", "https://introtodeeplearning.com/"),
        # Neural Networks: Zero to Hero / CS231n: Deep Learning for Computer Vision
        "ml-5": ("https://karpathy.ai/zero-to-hero.html", "https://cs231n.github.io/"),
        # Dive into Deep Learning / Deep Learning
        "ml-6": ("https://d2l.ai/", "https://www.deeplearningbook.org/"),
    },
    "shell": {
        # Missing Semester: The Shell / The Unix Shell
        "sh-1": ("https://missing.csail.mit.edu/2020/course-shell/", "https://swcarpentry.github.io/shell-novice/"),
        # Linux Journey / Bandit wargame
        "sh-2": ("https://linuxjourney.com/", "https://overthewire.org/wargames/bandit/"),
        # The Linux Command Line / Learning the shell
        "sh-3": ("https://linuxcommand.org/tlcl.php", "https://linuxcommand.org/lc3_learning_the_shell.php"),
        # BashGuide / Bash scripting cheatsheet
        "sh-4": ("https://mywiki.wooledge.org/BashGuide", "https://devhints.io/bash"),
        # Missing Semester: Shell Tools / Pure bash bible
        "sh-5": ("https://missing.csail.mit.edu/2020/shell-tools/", "https://github.com/dylanaraps/pure-bash-bible"),
        # The Art of Command Line / Data Science at the Command Line
        "sh-6": ("https://github.com/jlevy/the-art-of-command-line", "https://jeroenjanssens.com/dsatcl/"),
    },
    "writing": {
        # Technical Writing One / A beginner's guide to writing documentation
        "wr-1": (
            "https://developers.google.com/tech-writing/one",
            "https://www.writethedocs.org/guide/writing/beginners-guide-to-docs/",
        ),
        # How to Write Usefully / How Users Read on the Web
        "wr-2": ("https://paulgraham.com/useful.html", "https://www.nngroup.com/articles/how-users-read-on-the-web/"),
        # Technical Writing Two / Developer documentation style guide
        "wr-3": ("https://developers.google.com/tech-writing/two", "https://developers.google.com/style"),
        # Diátaxis / What nobody tells you about documentation
        "wr-4": ("https://diataxis.fr/", "https://www.youtube.com/watch?v=t4vKPhjcMZg"),
        # Write the Docs guide / Docs for Developers
        "wr-5": ("https://www.writethedocs.org/guide/", "https://docsfordevelopers.com/"),
        # Federal plain language guidelines / Microsoft Writing Style Guide
        "wr-6": ("https://www.plainlanguage.gov/guidelines/", "https://learn.microsoft.com/en-us/style-guide/welcome/"),
    },
    "docker": {
        # Docker: Get started / Docker Curriculum
        "dk-1": ("https://docs.docker.com/get-started/", "https://docker-curriculum.com/"),
        # Play with Docker classroom / Docker Tutorial for Beginners
        "dk-2": ("https://training.play-with-docker.com/", "https://www.youtube.com/watch?v=3c-iBn73dDE"),
        # Building best practices / Dockerfile reference
        "dk-3": (
            "https://docs.docker.com/build/building/best-practices/",
            "https://docs.docker.com/reference/dockerfile/",
        ),
        # Docker Compose quickstart / Compose file reference
        "dk-4": ("https://docs.docker.com/compose/gettingstarted/", "https://docs.docker.com/reference/compose-file/"),
        # Multi-stage builds / Docker Engine security
        "dk-5": ("https://docs.docker.com/build/building/multi-stage/", "https://docs.docker.com/engine/security/"),
        # Kubernetes basics / Container Training
        "dk-6": ("https://kubernetes.io/docs/tutorials/kubernetes-basics/", "https://container.training/"),
    },
    "stats": {
        # Statistics and probability / Seeing Theory
        "st-1": ("https://www.khanacademy.org/math/statistics-probability", "https://seeing-theory.brown.edu/"),
        # StatQuest / OpenIntro Statistics
        "st-2": ("https://www.youtube.com/@statquest", "https://www.openintro.org/book/os/"),
        # Introduction to Modern Statistics / Think Stats, 3rd edition
        "st-3": ("https://openintro-ims.netlify.app/", "https://allendowney.github.io/ThinkStats/"),
        # Common statistical tests are linear models / Statistics Done Wrong
        "st-4": ("https://lindeloev.github.io/tests-as-linear/", "https://www.statisticsdonewrong.com/"),
        # Statistical Rethinking lectures / Think Bayes, 2nd edition
        "st-5": ("https://github.com/rmcelreath/stat_rethinking_2024", "https://allendowney.github.io/ThinkBayes2/"),
        # An Introduction to Statistical Learning / Regression and Other Stories
        "st-6": ("https://www.statlearning.com/", "https://avehtari.github.io/ROS-Examples/"),
    },
    "algo": {
        # CS50x: Introduction to Computer Science / Algorithms and Data Structures Tutorial
        "al-1": ("https://cs50.harvard.edu/x/", "https://www.youtube.com/watch?v=8hly31xKli0"),
        # VisuAlgo / Grokking Algorithms, 2nd edition
        "al-2": ("https://visualgo.net/en", "https://www.manning.com/books/grokking-algorithms-second-edition"),
        # Open Data Structures / Problem Solving with Algorithms and Data Structures
        "al-3": ("https://opendatastructures.org/", "https://runestone.academy/ns/books/published/pythonds/index.html"),
        # Exercism / Project Euler
        "al-4": ("https://exercism.org/", "https://projecteuler.net/"),
        # Introduction to Algorithms (6.006) / Algorithms
        "al-5": (
            "https://ocw.mit.edu/courses/6-006-introduction-to-algorithms-spring-2020/",
            "https://jeffe.cs.illinois.edu/teaching/algorithms/",
        ),
        # Competitive Programmer's Handbook / CSES Problem Set
        "al-6": ("https://cses.fi/book/book.pdf", "https://cses.fi/problemset/"),
    },
}


def _parts(url: str) -> tuple[str, str, str]:
    found = urlsplit(url)
    return (found.hostname or "").removeprefix("www."), found.path.rstrip("/"), found.query


def covers(old: str, new: str) -> bool:
    """``new`` is the link ``old`` was, or a page under it (a chapter of the book ``old`` is)."""
    (old_host, old_path, old_query), (host, path, query) = _parts(old), _parts(new)
    if old_host != host:
        return False
    return (old_path, old_query) == (path, query) or (not old_query and path.startswith(old_path + "/"))


def _steps_covering(skill: dict, url: str) -> list[tuple[str, bool]]:
    """This catalog's steps whose resource (False) or alternative (True) is ``url`` or part of it."""
    found = []
    for item in skill["assignments"]:
        if covers(url, item["url"]):
            found.append((item["id"], False))
        elif covers(url, item["alternative"]["url"]):
            found.append((item["id"], True))
    return found


def upgrade_entry(skill: dict, entry: dict) -> Callable[[str], str | None]:
    """Bring one skill's progress from the first catalog to this one, in place. Returns how an old
    step id reads now: the first step covering what the learner had of it that is not behind
    them (else the first one), or None when nothing in this catalog covers it."""
    old = FIRST_CATALOG.get(skill["id"], {})
    on_alt = set(entry.get("alt", []))

    def covering(old_id: str) -> list[tuple[str, bool]]:
        links = old.get(old_id)
        return _steps_covering(skill, links[1 if old_id in on_alt else 0]) if links else []

    side: dict[str, bool] = {}  # each new step, and whether it shows its alternative

    def move(old_ids: list[str]) -> list[str]:
        moved: list[str] = []
        for old_id in old_ids:
            for new_id, alternative in covering(old_id):
                side.setdefault(new_id, alternative)  # done first, then skipped, next, offered
                if new_id not in moved:
                    moved.append(new_id)
        return moved

    done = move(entry.get("done", []))
    skipped = [i for i in move(entry.get("skipped", [])) if i not in done]
    ahead = move([entry["next"]] if entry.get("next") else [])
    offered = list(dict.fromkeys([*ahead, *move(entry.get("offered", []))]))
    behind = {*done, *skipped}

    def reads(old_id: str) -> str | None:
        found = [new_id for new_id, _ in covering(old_id)]
        return next((i for i in found if i not in behind), found[0] if found else None)

    following = reads(entry["next"]) if entry.get("next") else None
    lists = {"done": done, "skipped": skipped, "offered": offered, "alt": [i for i, a in side.items() if a]}
    for key, ids in lists.items():
        if ids or key == "done":
            entry[key] = ids
        else:
            entry.pop(key, None)
    if following and following not in behind:
        entry["next"] = following
    else:
        entry.pop("next", None)
    entry["catalog"] = CATALOG_VERSION
    return reads


def bring_up_to_date(ctx: Context) -> str | None:
    """Before any mentor action: every progress entry of the conversation on this catalog's ids.
    Returns an intent to run instead when a button of an old card names a step that is gone."""
    conv = ctx.conversation
    readings: dict[str, Callable[[str], str | None]] = {}
    for book in (conv.progress, conv.dropped):
        for skill_id, entry in book.items():
            if not isinstance(entry, dict) or entry.get("catalog", 1) >= CATALOG_VERSION:
                continue
            skill = ctx.skills.skill(skill_id)
            if skill is None:
                continue  # a skill no longer offered: its old ids name nothing, and nothing shows them
            reading = upgrade_entry(skill, entry)
            if book is conv.progress:
                readings[skill_id] = reading
                if not entry.get("finished_at"):
                    conv.slots[NEWS] = "1"
    if readings:
        _on_screen(ctx, readings)
    if conv.slots.get(NEWS) and not ctx.update.from_bot:
        conv.slots.pop(NEWS)
        ctx.say(Reply(text=ctx.t("catalog_updated")))
    return _pressed(ctx, readings) if readings else None


def _on_screen(ctx: Context, readings: dict[str, Callable[[str], str | None]]) -> None:
    """The card the person saw last, named with the old ids: "done" typed now means its step."""
    slots = ctx.conversation.slots
    for slot in ("shown", "shown_before"):
        skill_id, _, item_id = str(slots.get(slot, "")).partition(":")
        if skill_id in readings:
            now = readings[skill_id](item_id)
            if now:
                slots[slot] = f"{skill_id}:{now}"
            else:
                slots.pop(slot, None)
    if slots.get("skill") in readings and slots.get("item"):
        now = readings[slots["skill"]](slots["item"])
        if now:
            slots["item"] = now
        else:
            slots.pop("item", None)


def _pressed(ctx: Context, readings: dict[str, Callable[[str], str | None]]) -> str | None:
    """A button of a card shown before the upgrade, pressed (or typed) in this turn: its old step id,
    read now; a step whose resource is gone says so and goes on to the next one."""
    skill_id, item_id = ctx.args.get("skill"), ctx.args.get("item")
    if not item_id or skill_id not in readings:
        return None
    now = readings[skill_id](item_id)
    if now:
        ctx.args["item"] = now
        return None
    ctx.args.pop("item")
    ctx.say(Reply(text=ctx.t("step_retired")))
    return "next_assignment"

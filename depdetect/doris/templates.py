"""DORIS's symptom and emotion templates and its three prompts (arXiv 2403.10750, section 3.2, Appendices B, C).

The templates are first-person descriptions embedded once; a post's similarity to them drives which posts are
annotated (symptoms) and which count as emotional (emotions). The prompts are the paper's, word for word where
it gives them; PROMPT_VERSIONS changes whenever a prompt's wording does (it keys the on-disk cache).
"""

from __future__ import annotations

import re

SYMPTOMS: tuple[dict, ...] = (
    {"code": "A", "name": "Depressed mood", "template": (
        "I feel low, unhappy, joyless, depressed, oppressed, gloomy, disappointed, melancholic, sad, distressed, "
        "heartbroken, a sense of loss, often feeling heavy-hearted, experiencing despair and despondency, always "
        "feeling sorrowful with an urge to cry, experiencing inner pain and emptiness.")},
    {"code": "B", "name": "Loss of interest/pleasure", "template": (
        "I have lost interest, feel indifferent, bored, unconcerned, lack enthusiasm, am unmotivated, have no "
        "interest in activities, am unmotivated, find almost everything uninteresting, lack motivation, find "
        "significantly reduced pleasure, cannot experience happiness, feel the world is dull, and cannot muster "
        "energy all day.")},
    {"code": "C", "name": "Weight loss or gain", "template": (
        "I experience reduced appetite, often feel full, lack of appetite, nausea, abnormal weight loss, difficulty "
        "swallowing, emaciation, loss of appetite, poor appetite, weight loss, or abnormal weight gain, sudden "
        "weight increase, unexplained weight gain.")},
    {"code": "D", "name": "Insomnia or hypersomnia", "template": (
        "I suffer from sleep disorders, depend on sleeping pills, often experience insomnia, have difficulty falling "
        "asleep, rely on sleep medication, frequently stay up late, struggle with sleep difficulties, and exhibit "
        "symptoms of insomnia, tossing and turning at night, or hypersomnia, oversleeping, sleep excess, prolonged "
        "sleep duration, or excessive sleepiness.")},
    {"code": "E", "name": "Psychomotor agitation or retardation", "template": (
        "I am neurotic, easily agitated, emotionally unstable, impatient, anxious, restless, mentally tense, "
        "irritable, often feeling mentally uneasy and agitated, fidgety, displaying impulsive and irritable "
        "behavior, and my emotions are easily out of control.")},
    {"code": "F", "name": "Fatigue", "template": (
        "I feel fatigued, listless, exhausted, physically weakened, lacking in energy, dispirited, frequently tired, "
        "powerless, often feeling weary, unable to muster strength, feeling a heavy body, lacking in vitality and "
        "vigor, always feeling drowsy and lethargic.")},
    {"code": "G", "name": "Inappropriate guilt", "template": (
        "I have feelings of self-denial, lack of confidence, self-doubt, inferiority, disappointment, guilt, negative "
        "self-evaluation, self-blame, frequently belittle myself, feel incompetent and worthless, believe that I "
        "have achieved nothing and am a failure, feel disappointed in my expectations of myself and my family, "
        "often feel guilty and blame myself, thinking that everything is my fault.")},
    {"code": "H", "name": "Decreased concentration", "template": (
        "I experience slow thinking, difficulty concentrating, reduced judgment, memory decline, distractibility, "
        "indecision, scattered attention, difficulty thinking, lack of focus, difficulty paying attention, "
        "decreased cognitive ability, hesitancy in making decisions, often feeling mentally spaced out, unable to "
        "concentrate.")},
    {"code": "I", "name": "Thoughts of suicide", "template": (
        "I have a desire for death, self-harming behavior, suicidal thoughts, thoughts of ending my life, suicidal "
        "actions, thoughts of suicide, self-injury, recurring thoughts of death, suicidal tendencies, "
        "self-mutilation, cutting wrists with blades, jumping from heights to commit suicide, overdosing to commit "
        "suicide, making plans for suicide.")},
)

EMOTIONS: tuple[dict, ...] = (
    {"name": "anger", "template": (
        "I am angry, mad, agitated, annoyed, indignant, irritable, furious, disgusted, incensed, enraged, irritated, "
        "vexed, resentful, in a rage, glaring, shouting, screaming, insulting, hating, bellowing, outraged, ranting, "
        "detesting, fuming, and uncontrollably angry.")},
    {"name": "disgust", "template": (
        "I detest, loathe, disgust, abhor, hate, tire of, feel nauseated by, have a strong aversion to, despise, "
        "scorn, disdain, reject, find repugnant, utterly dislike, disdain, feel revulsion, despise, dislike "
        "intensely, abominate, have a strong displeasure, grow weary of, become impatient with, dismiss, look down "
        "upon, and utterly abhor.")},
    {"name": "anxiety", "template": (
        "I feel anxious, uneasy, worried, concerned, nervous, restless, panicked, fretful, afraid, uncertain, "
        "apprehensive, tense, jittery, indecisive, fearful, flustered, melancholic, frightened, apprehensive, full "
        "of doubts, brooding, terrified, distrustful, terrified, and on edge.")},
    {"name": "happiness", "template": (
        "I am happy, joyful, glad, blissful, merry, satisfied, delighted, elated, pleased, laughing, cheerful, "
        "excited, jubilant, optimistic, enthusiastic, cheerful, uplifted, exuberant, overjoyed, jubilant, with a "
        "smile on my face, pleasantly surprised, beaming with joy, and my heart blooms with happiness.")},
    {"name": "sadness", "template": (
        "I am sad, sorrowful, melancholic, in pain, lost, depressed, pessimistic, tearful, grieving, mournful, "
        "depressed, suicidal, heartbroken, devastated, upset, crying, deeply saddened, disconsolate, dejected, "
        "lamenting, desolate, gloomy, mournful, weeping bitterly, desperate, heartbroken, indignant.")},
)

PROMPT_VERSIONS = {"annotate": "doris-annotate-v1", "mood_course": "doris-mood-v1", "explain": "doris-explain-v1"}

ANNOTATE_PROMPT = (
    "Assuming you are a psychiatrist specializing in depression. Given '{text}', please determine if this message "
    "includes any of the following states of the author:\n{symptom_list}\n"
    "If present, answer in the format of enclosed letters separated by commas, for example, (A, B, C). "
    "If none are present, respond with None."
)
MOOD_COURSE_PROMPT = (
    "Assuming you are a psychiatrist specializing in depression, please summarize the mood course over this period "
    "based on the blogger's self-expressions:\n{posts}"
)
EXPLAIN_PROMPT = (
    "Assuming you are a psychiatrist specializing in depression. Here is a user's mood course: {mood_course}; below "
    "are posts from this user displaying symptoms of depression and the types of symptoms "
    "exhibited:\n{symptom_posts}\n"
    "this user has been determined by an automated depression detection system to be {decision}. Please consider "
    "the user's mood course and posts to generate an explanation for this judgment."
)


def annotate_prompt(text: str, symptoms: tuple[dict, ...] | list[dict] = SYMPTOMS) -> str:
    listing = " ".join(f"{s['code']}. {s['name']}" for s in symptoms)
    return ANNOTATE_PROMPT.format(text=text, symptom_list=listing)


def mood_course_prompt(posts: list[dict]) -> str:
    """`posts`: time-ordered dicts with `text` and `timestamp` (None prints as 'unknown')."""
    lines = [f"Time: {p.get('timestamp') or 'unknown'}, Post: {p['text']}" for p in posts]
    return MOOD_COURSE_PROMPT.format(posts="\n".join(lines))


def explain_prompt(mood_course: str, symptom_posts: list[dict], depressed: bool) -> str:
    """`symptom_posts`: dicts with `text` and `symptoms` (names)."""
    lines = [f"Post: {p['text']} Symptoms: {', '.join(p['symptoms'])}" for p in symptom_posts] or ["(none)"]
    decision = "depressed" if depressed else "normal"
    return EXPLAIN_PROMPT.format(mood_course=mood_course, symptom_posts="\n".join(lines), decision=decision)


_GROUP = re.compile(r"\(([^()]*)\)")
_BARE_LIST = re.compile(r"^[\s\"'`*]*([A-Za-z](?:\s*[,;]\s*[A-Za-z])*)[\s\"'`*.]*$")
_NONE = re.compile(r"\bnone\b", re.IGNORECASE)


def parse_symptom_answer(answer: object, codes: str = "ABCDEFGHI") -> list[str] | None:
    """Read an annotator's answer: '(A, C)' -> ['A', 'C']; 'None' -> []; unreadable -> None.

    Tolerates case, spaces, semicolons and stray words around the answer ("Answer: (g, i)."). An answer is
    unreadable when it holds no parenthesised group and no 'None', when a group names a letter outside `codes`,
    or when it holds two different groups.
    """
    if not isinstance(answer, str):
        return None
    text = answer.strip()
    groups = {g.strip() for g in _GROUP.findall(text) if g.strip()}
    if not groups:
        bare = _BARE_LIST.match(text)
        if bare:
            groups = {bare.group(1)}
        elif _NONE.search(text):
            return []
        else:
            return None
    if len(groups) != 1:
        return None
    items = [item.strip().upper() for item in re.split(r"[,;\s]+", groups.pop()) if item.strip()]
    if not items or any(len(item) != 1 or item not in codes for item in items):
        if len(items) == 1 and items[0] == "NONE":
            return []
        return None
    return sorted(set(items), key=codes.index)

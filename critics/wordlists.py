"""Fixed word lists the critics read: English function words, words ending in -ly that are not
adverbs, and stock phrases (clichés) of fiction. Fixed on purpose: a score must mean the same
thing on every day, so nothing here is learned from the stories being scored."""

from __future__ import annotations

ENGLISH_FUNCTION_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here hers
herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on
once only or other our ours ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves i'm it's don't didn't i'd i'll can't
wasn't he's she's that's there's you're we're they're
""".split())

# Content words: function words plus a few verbs/nouns too common in prompts to mean anything.
STOPWORDS = ENGLISH_FUNCTION_WORDS | frozenset("""
one two get got go went make made say said tell told write story like also even still back way thing things
would could us let lets really every never ever always much many well day time wp
""".split())

# Words ending in -ly that are not manner adverbs (or are too common to count as style faults).
NOT_ADVERBS = frozenset("""
only family early reply apply supply fly ally belly bully holy ugly jelly lily rely silly lonely lovely lively
friendly likely daily weekly monthly yearly costly deadly elderly curly chilly hilly oily smelly woolly sly july
italy emily molly billy sally holly kelly polly wily assembly anomaly monopoly butterfly dragonfly firefly
melancholy homily rally folly jolly gully gully tally dolly bubbly cuddly ghastly ghostly kindly orderly
comely homely manly womanly sickly surly burly unlikely heavenly worldly timely stately beastly bodily
""".split())

# Stock phrases of weak fiction prose; matched on lowercased text with word boundaries.
CLICHES = (
    "a chill ran down", "shivers down", "shiver down", "sent shivers", "blood ran cold", "heart pounding",
    "heart raced", "heart was racing", "heart skipped a beat", "breath she didn't know she was holding",
    "breath he didn't know he was holding", "let out a breath", "time stood still", "in the nick of time",
    "little did he know", "little did she know", "little did they know", "all of a sudden", "out of nowhere",
    "dead of night", "pitch black", "dark and stormy night", "at the end of the day", "the calm before the storm",
    "only time will tell", "it was all a dream", "woke up and it was", "as luck would have it", "deafening silence",
    "eyes like saucers", "cold as ice", "white as a ghost", "pale as a ghost", "quiet as a mouse",
    "without a moment to lose", "a single tear", "tears streamed down", "never looked back", "for the first time in years",
    "her eyes sparkled", "his eyes sparkled", "piercing blue eyes", "piercing eyes", "raven hair", "orbs",
    "suddenly, ", "needless to say", "last but not least", "easier said than done", "every fiber of",
    "in the blink of an eye", "a force to be reckoned with", "the rest is history", "worst nightmare",
    "frozen in fear", "rooted to the spot", "weak at the knees", "fell silent", "he smirked", "she smirked",
    "a wave of", "once upon a time", "happily ever after", "the moral of the story", "in a world where",
    "nothing would ever be the same", "little did i know", "a testament to", "tapestry of", "palpable",
)

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

# Words of writing-prompt instructions ("Write a short piece based on...", "[WP] Describe..."):
# what a prompt asks the writer to do, not what the story is about, so a story never "misses"
# them. Also the subreddit's tags (wp, sp, eu, ...) and words about the text itself.
PROMPT_BOILERPLATE = frozenset("""
write writes writing written wrote rewrite story stories storyline short shorter long longer piece pieces based base
basis prompt prompts tell tells telling told describe describes describing description narrate narrates narrated
narrating narration narrative narrator tale tales account version fiction flash microfiction vignette essay poem
poems poetry verse fable fables parable allegory anecdote monologue haiku sonnet limerick chapter chapters scene
scenes paragraph paragraphs sentence sentences word words line lines
page pages plot genre style tone theme themes perspective viewpoint pov reader readers audience author protagonist
include includes including incorporate feature features featuring use using used begin begins beginning start
starts starting end ends ending twist first second third person imagine create creative explain explore show
following follow follows given give about around please try must should want wp sp eu cw tt ip mp rf pi op ot
prompt's reddit subreddit
""".split())

# Chat chatter: what a chat assistant says around a story ("Sure! Here is a story based on the
# prompt:", "I hope you enjoyed it! Let me know if...", "As an AI..."), never part of one.
# (kind, regular expression), matched case-insensitively on one sentence of normalised text
# (straight quotes); a match inside quotation marks is dialogue and does not count. A pattern
# starting with "^^" only counts in the story's first sentence. Written from the chatter of the six 2023 LLMs of hanna_llm576 and of small
# instruct models; none of these matches a sentence of the 96 human HANNA stories.
CHATTER_PATTERNS = (
    ("preamble", r"^(?:(?:sure|certainly|of course|absolutely|great|okay|ok|alright|yes|perfect)\b[!,.]*\s+)?"
                 r"(?:here(?:'s| is| are| goes)|below is|what follows is)\s+(?:a|an|the|your|my|one|this)\b"
                 r"[^.!?]{0,60}?\b(?:story|stories|tale|piece|version|draft|attempt|take|response|poem|narrative)\b"),
    ("preamble", r"\b(?:i'd|i would|i'm|i am|i'll|i will) (?:be )?(?:happy|glad|delighted|ready|pleased) to "
                 r"(?:help|assist|write|share|oblige|give it a (?:try|go|shot))\b"),
    ("preamble", r"^(?:sure|certainly|of course|absolutely|great|okay|ok|alright)\b[!,.]+\s+"
                 r"(?:i can|i'll|i will|let's|let me|please|here)\b"),
    ("preamble", r"^^(?:sure|certainly|of course|absolutely|great|okay|ok|alright)[!.]*$"),
    ("preamble", r"\blet(?:'s| us) (?:get started|begin|dive in|get going)\b"),
    ("preamble", r"\b(?:based (?:on|off) (?:the|your|that) (?:given |writing )?prompt|the prompt (?:you|given)\b|"
                 r"prompt you (?:provided|gave|shared))"),
    ("preamble", r"^(?:that's|this is|what) (?:a|an|quite an?|such an?|really an?) (?:[\w-]+ ){0,3}"
                 r"(?:prompt|idea|request|premise|question)\b\s*[!.]"),
    ("question", r"\bcan you (?:please )?(?:tell me|provide|give me|share|clarify) (?:more|some|a bit)\b"),
    ("question", r"\bplease (?:go ahead and )?(?:provide|share|give) (?:me )?(?:with )?(?:the|more|some|your)\b"),
    ("question", r"\bwhat (?:would you like (?:to happen|me to)|kind of (?:tone|story|themes?|genre))\b"),
    ("question", r"^(?:hello|hi)\b[!,.]*\s+(?:i'm|i am|is there|how can)\b"),
    ("sign-off", r"\bi hope (?:you|that you|this|it|the story) (?:\w+ ){0,2}(?:enjoy|enjoyed|like|liked|love|loved|"
                 r"found|helps|meets|was)\b"),
    ("sign-off", r"\blet me know (?:if|whether|what) (?:you have any|you(?:'d| would) like|you want (?:me|another|more)|"
                 r"there(?:'s| is) anything|this|that|i can)|\bfeel free to (?:ask|let me|modify|change|reach)\b"),
    ("sign-off", r"\bis there (?:anything|something) (?:else )?(?:i can|you(?:'d| would) like)\b"),
    ("sign-off", r"\b(?:would|do) you (?:like|want) me to\b"),
    ("sign-off", r"\bif you(?:'d| would) like (?:me to|another|more|a different|any changes)\b"),
    ("sign-off", r"^how (?:was|does|is) (?:that|this)(?: sound| story)?\s*\?"),
    ("sign-off", r"\bi tried to (?:make|create|write|craft|keep) (?:the|a|this) (?:story|tale|piece)\b"),
    ("assistant", r"\bas an ai(?:,| language| assistant| model| i\b)|\b(?:an ai|a large|a) language model\b|\bi(?:'m| am) (?:just )?(?:an ai|an assistant|"
                  r"a chatbot|here to help)\b"),
    ("assistant", r"\bi (?:cannot|can't|am unable to|won't be able to) (?:fulfil|fulfill|comply|generate|"
                  r"create content|write (?:that|this|a story))\b"),
)
# A line that labels the text instead of telling it ("Title: ...", "### Assistant:", "[Your Name]").
CHATTER_LABEL = (r"^\s*(?:#+\s*)?(?:title|story title|prompt|writing prompt|response|word count|genre|user|human|"
                 r"assistant|ai|system|output)\s*:|^\s*(?:#+\s*)?(?:assistant|human|user)\s*$|\[your name\]|"
                 r"\(\s*word count\s*:?\s*\d+\s*(?:words)?\s*\)")

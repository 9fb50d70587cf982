"""Hand-written stories for the critic tests, where the right order is obvious."""

LIGHTHOUSE_PROMPT = "A lighthouse keeper finds a message in a bottle during a storm."
LIGHTHOUSE = (
    "The storm arrived at dusk, and Elias climbed the tower to light the lamp. "
    "Rain hammered the glass while the beam swept across the black water. "
    "Below the rocks, something pale rolled in the foam. "
    "He pulled on his coat and went down the slick stairs to the shore. "
    "It was a green bottle, sealed with wax, and inside was a folded letter. "
    "Back in the kitchen he dried his hands and broke the seal. "
    "The letter was written in his grandmother's careful hand. "
    "She asked whoever found it to keep the light burning, no matter what. "
    "Elias read it twice, then climbed the tower again. "
    "All night he watched the beam cross the waves, and at dawn a small boat limped into the harbour."
)

BAKERY_PROMPT = "A baker discovers that her bread makes people tell the truth."
BAKERY = (
    "Mina opened her bakery at five, as she had every morning for twenty years. "
    "The first customer was the mayor, who bought a rye loaf and ate a slice at the counter. "
    "Between bites he confessed that he had never read the budget he signed. "
    "Mina laughed, thinking it was a joke, but he looked horrified. "
    "By noon a teacher had admitted to hating poetry and a banker to stealing pens. "
    "Every one of them had eaten her new sourdough. "
    "That evening she tasted a crumb herself and told the empty shop that she was lonely. "
    "The next day she put a sign in the window: honest bread, eat at your own risk. "
    "The queue stretched around the block."
)

LOOPING = (
    "The lighthouse keeper looked at the sea. The lighthouse keeper looked at the sea. "
    "He looked at the sea and the sea looked at him. The lighthouse keeper looked at the sea. "
    "He looked at the sea and the sea looked at him. The lighthouse keeper looked at the sea. "
    "The lighthouse keeper looked at the sea. He looked at the sea and the sea looked at him."
)

SIMPLE = (
    "Sam had a red ball. He threw it to his dog. The dog ran fast and got the ball. "
    "Sam laughed. The dog brought it back. They played all day in the sun. At night, "
    "the dog slept by the door. Sam gave him a big hug. Then Sam went to bed too."
)

DENSE = (
    "Notwithstanding the considerable institutional ambivalence surrounding the municipality's administrative "
    "reorganization, the commissioner's deliberations, characterized by extraordinarily meticulous procedural "
    "scrupulousness, nevertheless precipitated unprecedented intergovernmental complications. "
    "Consequently, the constitutional implications, notwithstanding their theoretical indeterminacy, "
    "necessitated comprehensive jurisprudential reconsideration by multidisciplinary authorities."
)

# Four scenes, each three sentences on its own ground: the written order keeps each scene together.
SCENES = (
    "In the kitchen, Nora kneaded the dough and dusted the table with flour. "
    "The oven ticked as it warmed, and the smell of yeast filled the small room. "
    "She shaped two loaves and set them to rise beside the stove. "
    "Down at the harbour, the fishing boats were coming in on the evening tide. "
    "Gulls screamed over the nets while the men hauled crates of cod onto the quay. "
    "Her brother waved from the deck of the last boat, his oilskin dripping with spray. "
    "Later, in the forest above the town, the two of them gathered mushrooms among the pines. "
    "Moss muffled their steps and the light came green and slanting through the branches. "
    "They filled a basket with chanterelles before the owls began to call. "
    "At the railway station that night, the last train to the city hissed at the platform. "
    "A conductor checked their tickets under a flickering lamp and blew his whistle. "
    "The carriages rattled away into the dark, past fields and sleeping villages."
)

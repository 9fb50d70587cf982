"""A fixed bank of everyday story prompts: the background the relevance critic compares against.

A story that is about everything (generic prose) is close to every prompt. Relevance asks how
much closer the story is to *its* prompt than to these unrelated, ordinary prompts, so that a
generic story does not win on relevance. Written for this purpose, fixed so that scores compare
across days; not drawn from any evaluation set.
"""

BACKGROUND_PROMPTS = (
    "A detective investigates a murder in a small town.",
    "Two friends go on a road trip across the country.",
    "A soldier returns home after a long war.",
    "A child discovers a secret door in their grandmother's house.",
    "An astronaut is stranded alone on a distant planet.",
    "A young woman falls in love with a stranger on a train.",
    "A family moves into a haunted house.",
    "A wizard loses his magic and must live as an ordinary man.",
    "Robots rise up against their human creators.",
    "A chef prepares the most important meal of her life.",
    "A teenager starts at a new school and has no friends.",
    "A king must choose between his crown and his daughter.",
    "The last person on Earth hears a knock at the door.",
    "A thief plans one final heist.",
    "A dog waits every day for its owner to come home.",
    "An old man remembers his childhood by the sea.",
    "A scientist invents a machine that can travel through time.",
    "A dragon guards a treasure in a mountain cave.",
    "A nurse works a night shift during a pandemic.",
    "Two rival knights are forced to work together.",
    "A farmer finds something strange buried in his field.",
    "A musician plays one last concert before retiring.",
    "Aliens make first contact with humanity.",
    "A girl can hear what animals are thinking.",
    "A sailor is lost at sea during a storm.",
    "A vampire tries to live a normal life in the city.",
    "A mother and son argue about his future.",
    "A hacker uncovers a government conspiracy.",
    "A ghost tries to tell the living something important.",
    "A boxer prepares for the fight of his career.",
    "An office worker wakes up with superpowers.",
    "A village prepares for a harsh winter.",
    "A student cheats on an exam and is caught.",
    "A pilot must land a damaged plane.",
    "Gods walk among humans in disguise.",
    "A writer cannot finish her novel.",
    "A zombie outbreak spreads through a city.",
    "A prince is cursed to live as a beast.",
    "A couple celebrates their fiftieth anniversary.",
    "A spy is betrayed by her own agency.",
)

"""Bot layer: the one place for the limits of Adaptive Cards in Microsoft Teams.

Teams rejects a message over about 28 KB (the whole activity, card included) and
shows at most six actions in a row; the rest are this project's own caps, chosen so
that every card stays readable and far inside the size limit.
"""

# The card's JSON; the activity around it needs a little room of its own.
CARD_BYTES = 26_000
ACTIONS = 6  # per ActionSet, and at the card's foot
TITLE = 200
TEXT = 4000  # one TextBlock; longer text is spread over several
FACT_TITLE = 100
FACT_VALUE = 1000
FACTS = 20  # per FactSet
BUTTON_TITLE = 60
DATA_VALUE = 2000
INPUT_LABEL = 200
INPUT_TEXT = 4000  # what an Input.Text may hold
PLACEHOLDER = 150
CHOICES = 100
CHOICE_TITLE = 100
CHOICE_VALUE = 150
MENTION_NAME = 100

"""Bot layer: the one place for Slack's Block Kit limits (as documented by Slack)."""

MESSAGE_BLOCKS = 50
SURFACE_BLOCKS = 100  # modals and the App Home tab
TEXT = 3000  # a section's text, and any text object
FIELD_TEXT = 2000
FIELDS = 10
HEADER_TEXT = 150
ACTIONS_ELEMENTS = 25
CONTEXT_ELEMENTS = 10
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ACTION_ID = 255
BLOCK_ID = 255
MODAL_TITLE = 24
MODAL_BUTTON = 24
PRIVATE_METADATA = 3000
CALLBACK_ID = 255
INPUT_LABEL = 2000
INPUT_HINT = 2000
PLACEHOLDER = 150
TEXT_INPUT_MAX = 3000
OPTIONS = 100
OPTION_TEXT = 75
OPTION_VALUE = 150
# chat.postMessage's top-level `text` is the notification and accessibility fallback.
FALLBACK_TEXT = 3000

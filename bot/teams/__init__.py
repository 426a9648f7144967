"""Bot layer: Microsoft Teams, through botbuilder's CloudAdapter."""

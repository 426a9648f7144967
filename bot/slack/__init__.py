"""Bot layer: the Slack platform (slack-bolt's AsyncApp and slack_sdk's AsyncWebClient)."""

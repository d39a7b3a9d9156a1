# services/automation/webhooks: targets added by its slice.

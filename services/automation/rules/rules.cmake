# services/automation/rules: targets added by its slice.

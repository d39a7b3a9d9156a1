# services/automation/schedule: targets added by its slice.

"""What every stage shares: settings, errors, the data passed on, text helpers, modes."""

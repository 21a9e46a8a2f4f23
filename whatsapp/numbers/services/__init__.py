"""Services of the numbers feature: onboarding (Embedded Signup state machine), manual connect,
the doctor. Each module's public functions are `<entity>_<verb>(*, ...)`."""

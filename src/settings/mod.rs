//! settings (placeholder until the settings module lands)

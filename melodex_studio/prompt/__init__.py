"""Text -> StylePlan."""

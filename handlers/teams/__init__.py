"""Teams adapters, on Microsoft's Teams SDK for Python (`microsoft-teams-apps`)."""

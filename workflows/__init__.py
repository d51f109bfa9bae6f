"""Temporal workflows of /fanout: ParentWorkflow fans out to ChildWorkflow / BatchWorkflow."""

"""The App Home tab: the workflow that publishes each user's (tab), today's totals (daily_stats), what it reads
and publishes (publish) and what it looks like (view)."""

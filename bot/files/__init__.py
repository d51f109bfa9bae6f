"""The files a run's thread gets: its execution timeline (a PNG; text in the console) and a CSV of every value."""

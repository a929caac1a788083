"""Detector and projection settings the command line offers before anything heavy loads."""

SPIKE_FACTOR = 2.0  # a day is a spike above this multiple of its 7-day median
SPIKE_WINDOW_DAYS = 7
SPIKE_MIN_EXCESS_USD = 5.0  # a day must also exceed its median by this much: cents are not worth a page
PROJECTION_METHODS = ("auto", "run-rate", "forecast")  # month-end projection of a budget

"""Courses (``courses:``): enrolling, free or paid in the course's creator token (``enrolment``), and
generating one with the creator's AI clone, step by step under a watchdog (``generation``)."""

NAMESPACE = "courses"

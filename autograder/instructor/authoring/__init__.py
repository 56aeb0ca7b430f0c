"""Writing the course: release, executing notebooks, the site, the student release."""

-- Which of the given codes are villages.
SELECT code FROM village WHERE code = ANY(%(codes)s::text[])

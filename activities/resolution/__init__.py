"""Resolution (SPEC 4.5): who an activity targets and what data it carries.

- context.py: the batch loader (one query per kind of data, whatever the number of activities)
- targets.py: one function per criterion (registry CRITERIA), the fallbacks and the channel-contact rule
- attributes.py: one function per internal attribute (INTERNAL_RESOLVERS) and per resolver type (RESOLVERS)
"""

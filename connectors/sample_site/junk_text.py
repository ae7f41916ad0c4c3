"""The words of the junk pages: cookie-wall text, SEO filler, keyword stuffing, lorem ipsum, a price list
and a traceback, written the way such pages read on real sites."""

from __future__ import annotations

CONSENT_PARAGRAPHS = (
    "We and our {partners} partners use cookies and similar technologies to store and access information "
    "on your device, such as unique identifiers and browsing data, to deliver and maintain our services.",
    "With your permission we and our partners may use precise geolocation data and identification through "
    "device scanning. You may click to consent to our and our partners' processing as described above.",
    "Alternatively you may click to refuse to consent, or access more detailed information and change your "
    "preferences before consenting. Please note that some processing of your personal data may not require "
    "your consent, but you have a right to object to such processing.",
    "Your preferences will apply to this website only. You can change your preferences or withdraw your "
    "consent at any time by returning to this site and clicking the Cookie settings link in the footer.",
    "If you choose Reject all, we will not use cookies for these additional purposes. Non-personalised "
    "content and advertising are influenced by things like the content you are currently viewing and your "
    "general location.",
)

CONSENT_PURPOSES = (
    "Store and/or access information on a device",
    "Personalised advertising and content, advertising and content measurement",
    "Audience research and services development",
    "Use limited data to select advertising",
    "Create profiles for personalised advertising",
    "Measure content performance",
    "Understand audiences through statistics or combinations of data from different sources",
)

FILLER_SENTENCES = (
    "In today's fast-paced world, {topic} is more important than ever.",
    "Whether you are a beginner or an expert, there is always something new to learn.",
    "That is why so many people are talking about {topic} these days.",
    "It is no secret that quality matters, and that is especially true when it comes to {topic}.",
    "At the end of the day, what really counts is the value you bring to your readers.",
    "There are many factors to consider, and every situation is different.",
    "The key is to find what works best for you and your team.",
    "Many experts agree that a thoughtful approach can make all the difference.",
    "Of course, there is no one-size-fits-all solution.",
    "But with the right mindset, anything is possible.",
    "Taking the time to get it right will pay off in the long run.",
    "It is important to stay informed and keep up with the latest trends.",
    "After all, the world of {topic} is constantly evolving.",
    "What works today may not work tomorrow, so flexibility is essential.",
    "By following a few simple principles, you can take your results to the next level.",
    "Remember that success does not happen overnight.",
    "It takes dedication, patience and a willingness to learn from your mistakes.",
    "The good news is that it has never been easier to get started.",
    "There are countless resources available to help you along the way.",
    "So why wait? Now is the perfect time to take the first step.",
    "We hope this article has given you some useful ideas to think about.",
    "Be sure to share it with your friends and colleagues who might find it helpful.",
    "If you have any questions, do not hesitate to leave a comment below.",
    "Stay tuned for more tips and insights on {topic} in the weeks ahead.",
    "In conclusion, {topic} is a journey, not a destination.",
    "Every step you take brings you closer to your goals.",
    "Keep learning, keep growing and never stop improving.",
    "Thank you for reading, and see you next time.",
)

STUFFING_SENTENCES = (
    "Looking for the best Python tutorial online?",
    "Our Python tutorial is the best Python tutorial for Python beginners and Python experts.",
    "This free Python tutorial teaches Python programming with the best Python tutorial examples.",
    "Learn Python fast with our Python tutorial, the number one Python tutorial online.",
    "Python tutorial for beginners, Python tutorial for experts, Python tutorial PDF, Python tutorial free.",
    "Why choose our Python tutorial? Because our Python tutorial is the best Python tutorial.",
    "Every Python tutorial lesson in this Python tutorial covers Python basics and Python tips.",
    "Start the Python tutorial today and master Python with the best free Python tutorial.",
    "Python course, Python class, Python lessons, Python training, Python tutorial online.",
    "Thousands of Python learners love this Python tutorial and recommend our Python tutorial.",
    "Bookmark this Python tutorial page for the best Python tutorial updates.",
    "The best Python tutorial 2024 is here: the Python tutorial you need for Python success.",
    "Download the Python tutorial and share the Python tutorial with your Python friends.",
    "Best Python tutorial, top Python tutorial, easy Python tutorial, complete Python tutorial.",
    "Our Python tutorial makes learning Python easy with Python tutorial videos and Python tutorial quizzes.",
    "Search no more for a Python tutorial: this Python tutorial is the only Python tutorial you need.",
)

LOREM_WORDS = tuple(
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et "
    "dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea "
    "commodo consequat duis aute irure in reprehenderit voluptate velit esse cillum fugiat nulla pariatur "
    "excepteur sint occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim id est "
    "laborum curabitur pretium tincidunt lacus nulla gravida orci a odio nullam varius turpis".split()
)

PRICE_PRODUCTS = (
    ("Python logo mug, 330 ml", 12.0),
    ("Sticker pack (20 stickers)", 6.5),
    ("Hoodie, navy, S–XXL", 45.0),
    ("T-shirt, black, S–XXL", 22.0),
    ("Notebook A5, dotted", 9.9),
    ("Laptop sleeve 13 inch", 29.0),
    ("Laptop sleeve 15 inch", 32.0),
    ("USB-C cable, 1 m", 11.0),
    ("USB-C cable, 2 m", 14.0),
    ("Mechanical keyboard, US layout", 119.0),
    ("Mechanical keyboard, DE layout", 119.0),
    ("Mouse pad XL", 19.0),
    ("Cap, embroidered logo", 18.0),
    ("Water bottle, 750 ml", 21.0),
    ("Enamel pin set", 8.0),
    ("Poster 50×70 cm", 15.0),
    ("Desk mat, 90×40 cm", 27.0),
    ("Socks, 3 pairs", 16.0),
    ("Tote bag, organic cotton", 13.0),
    ("Workshop ticket, half day", 149.0),
    ("Workshop ticket, full day", 249.0),
    ("Gift card 25", 25.0),
    ("Gift card 50", 50.0),
    ("Gift card 100", 100.0),
    ("Printed manual, 2024 edition", 39.0),
    ("E-book bundle", 24.0),
    ("Support plan, monthly", 49.0),
    ("Support plan, yearly", 490.0),
)

TRACEBACK = """Traceback (most recent call last):
  File "/srv/app/venv/lib/python3.11/site-packages/django/core/handlers/exception.py", line 55, in inner
    response = get_response(request)
  File "/srv/app/venv/lib/python3.11/site-packages/django/core/handlers/base.py", line 197, in _get_response
    response = wrapped_callback(request, *callback_args, **callback_kwargs)
  File "/srv/app/reports/views.py", line 142, in weekly_summary
    rows = Report.objects.filter(week=week).select_related("author")
  File "/srv/app/venv/lib/python3.11/site-packages/django/db/backends/utils.py", line 89, in _execute
    return self.cursor.execute(sql, params)
django.db.utils.OperationalError: could not connect to server: Connection refused
\tIs the server running on host "db.internal" (10.0.3.12) and accepting
\tTCP/IP connections on port 5432?"""

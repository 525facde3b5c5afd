from django.shortcuts import render

from assignments.selectors import featured_assignments


def home(request):
    main, alternatives = featured_assignments()
    return render(request, "home.html", {"main": main, "alternatives": alternatives})

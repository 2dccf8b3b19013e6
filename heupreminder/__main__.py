from heupreminder.cli import main

main()

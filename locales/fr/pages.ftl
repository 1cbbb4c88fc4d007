# Pages hors de l'espace compte : mise en page, connexion, inscription, consentement, messages.

## Mise en page et mots communs
nav-skip = Aller au contenu principal
nav-primary = Navigation principale
nav-account = Compte
nav-sign-out = Se déconnecter
nav-sign-in = Se connecter
nav-create-account = Créer un compte
footer-tagline = Portcullis · identité et connexion
continue = Continuer
back-to-sign-in = Retour à la connexion
signed-in-as = Connecté en tant que { $who }
signed-in-as-name-email = Connecté en tant que { $name } ({ $email })
message-default-title = Information

## Champs de formulaire
field-email = Adresse e-mail
field-password = Mot de passe
field-name = Nom
field-your-password = Votre mot de passe
field-current-password = Mot de passe actuel
field-new-password = Nouveau mot de passe
field-confirm-new-password = Confirmez le nouveau mot de passe
password-hint-min = Au moins { $min } caractères

## Accueil
home-title = Accueil
home-welcome-back = Bon retour parmi nous
home-manage-account = Gérer votre compte
home-welcome = Bienvenue sur Portcullis
home-lead = Un seul compte pour vous connecter aux applications que vous utilisez, réuni en un lieu que vous contrôlez.

## Connexion et inscription
login-title = Connexion
login-submit = Se connecter
login-resend-verification = Renvoyer l'e-mail de confirmation
login-forgot = Mot de passe oublié ?
login-passwordless-heading = Ou connectez-vous sans mot de passe
login-magic-email = Adresse e-mail pour recevoir un lien de connexion
login-magic-submit = M'envoyer un lien de connexion
login-code-email = Adresse e-mail pour recevoir un code de connexion
login-code-submit = M'envoyer un code
login-to-signup = Nouveau ? Créez un compte
signup-heading = Créez votre compte
signup-to-login = Vous avez déjà un compte ? Connectez-vous
providers-label = Autres façons de se connecter
providers-continue-with = Continuer avec { $provider }
providers-or = ou

## Code à usage unique
code-title = Saisissez votre code
code-label = Code à 6 chiffres
code-hint = Nous avons envoyé un code à { $email }. Il expire dans 10 minutes.
code-hint-no-address = Nous avons envoyé un code à votre adresse e-mail. Il expire dans 10 minutes.

## Liens envoyés par e-mail
forgot-title = Réinitialiser votre mot de passe
forgot-lead = Saisissez l'adresse e-mail de votre compte : nous vous enverrons un lien pour choisir un nouveau mot de passe.
forgot-submit = M'envoyer un lien de réinitialisation
reset-title = Choisissez un nouveau mot de passe
reset-lead = Vous serez déconnecté partout.
reset-submit = Enregistrer le nouveau mot de passe
verify-title = Confirmez votre adresse e-mail

## Consentement
consent-unnamed-client = Une application
consent-title = Autoriser l'accès
consent-heading = { $client } souhaite accéder à votre compte
consent-requested-access = Accès demandé
consent-allow = Autoriser
consent-deny = Refuser
consent-redirect = Vous serez ensuite redirigé vers { $host }
consent-revoke-note = Vous pouvez révoquer cet accès à tout moment depuis la page « Applications connectées » de votre compte.

## Ce que chaque scope permet à une application
scope-openid = Savoir qui vous êtes (l'identifiant de votre compte)
scope-profile = Voir votre nom, votre nom d’utilisateur, votre photo, votre site web, votre fuseau horaire et votre langue
scope-email = Voir votre adresse e-mail et savoir si elle est confirmée
scope-groups = Voir les groupes dont vous faites partie
scope-offline-access = Rester connectée lorsque vous ne l'utilisez pas
scope-other = Autre accès

## Déconnexion
logout-heading = Se déconnecter ?
logout-client-asks = { $client } vous demande de vous déconnecter de Portcullis.
logout-question = Voulez-vous vous déconnecter de Portcullis ?
logout-stay = Rester connecté
logged-out-title = Déconnecté
logged-out-heading = Vous êtes déconnecté
logged-out-lead = Vous pouvez fermer cette fenêtre ou vous reconnecter.

## response_mode=form_post
form-post-title = Connexion en cours…
form-post-noscript = JavaScript est désactivé : appuyez sur « Continuer » pour revenir à l'application.

## Page d'erreur
error-code = Erreur { $status }
error-home-link = Retour à l'accueil
error-generic-title = Une erreur s'est produite
error-generic-message = Désolés, nous n'avons pas pu traiter cette demande. Veuillez réessayer dans un instant.

## Seconde étape de la connexion
second-factor-title = Connexion à deux facteurs
second-factor-lead = Saisissez le code à 6 chiffres de votre application d’authentification.
second-factor-label = Code
second-factor-hint = Téléphone perdu ? Saisissez plutôt l’un de vos codes de récupération.
second-factor-submit = Vérifier
second-factor-wrong = Ce code est incorrect ou a déjà été utilisé.
second-factor-throttled = Trop de codes erronés. Réessayez dans { $seconds ->
        [one] { $seconds } seconde
       *[other] { $seconds } secondes
    }.

# Passkeys on the sign-in pages
login-passkey = Se connecter avec une clé d'accès
second-factor-lead-passkey = Confirmez votre identité avec votre clé d'accès.
second-factor-use-passkey = Utiliser une clé d'accès
second-factor-or-code = ou saisissez un code
passkey-error-failed = La fenêtre de la clé d'accès a été fermée ou a échoué. Réessayez.
passkey-error-disabled = Les clés d'accès ne sont pas disponibles sur ce serveur.
passkey-error-expired = Cela a pris trop de temps ou c'était déjà terminé. Réessayez.
passkey-error-rejected = Cette clé d'accès n'a pas pu être vérifiée.
passkey-error-unknown = Cette clé d'accès n'est enregistrée pour aucun compte ici.
passkey-error-duplicate = Cette clé d'accès est déjà enregistrée.
passkey-error-throttled = Trop de tentatives échouées. Patientez quelques minutes et réessayez.
passkey-error-bad-request = La requête n'a pas pu être lue.

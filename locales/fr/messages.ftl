# Textes produits par le code du serveur : erreurs de formulaire, avis, pages d'erreur.

## Erreurs dans les champs de formulaire
error-name-missing = Saisissez votre nom.
error-name-control = Retirez les caractères spéciaux de votre nom.
error-too-short = Utilisez au moins { $min } caractères.
error-too-long = Utilisez au maximum { $max } caractères.
error-password-missing = Saisissez un mot de passe.
error-email-missing = Saisissez votre adresse e-mail.
error-email-invalid = Saisissez une adresse e-mail valide, par exemple nom@example.com.
error-email-hidden = Cette adresse contient des caractères invisibles ou spéciaux, souvent issus d’un copier-coller. Saisissez-la à nouveau.
error-email-too-long = Cette adresse e-mail est trop longue.
error-email-taken = Un compte existe déjà avec cette adresse e-mail. Voulez-vous plutôt vous connecter ?
error-email-same = C'est déjà votre adresse.
error-bad-credentials = Adresse e-mail ou mot de passe incorrect.
error-unverified = Confirmez d'abord votre adresse e-mail : suivez le lien que nous vous avons envoyé.
error-too-many-attempts = Trop de tentatives, réessayez dans { $seconds ->
        [one] { $seconds } seconde
       *[other] { $seconds } secondes
    }.
error-password-locked = Trop de mots de passe erronés : la connexion par mot de passe est suspendue pour ce compte pendant { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }. Connectez-vous autrement ci-dessous, choisissez un nouveau mot de passe (« Mot de passe oublié ? »), ou patientez.
error-password-locked-only = Trop de mots de passe erronés : la connexion par mot de passe est suspendue pour ce compte pendant { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }. Choisissez un nouveau mot de passe (« Mot de passe oublié ? »), ou patientez.
error-signup-too-many = Trop d'inscriptions depuis votre réseau. Réessayez plus tard.
error-current-password-missing = Saisissez votre mot de passe actuel.
error-current-password-wrong = Votre mot de passe actuel est incorrect.
error-password-wrong = Votre mot de passe est incorrect.
error-passwords-differ = Les mots de passe ne correspondent pas.
error-type-delete = Saisissez DELETE pour confirmer.
error-timezone = Choisissez un fuseau horaire dans la liste.
error-username-length = Un nom d’utilisateur compte 3 à 32 caractères.
error-username-characters = Utilisez des lettres a–z, des chiffres, des points, des tirets et des tirets bas, en commençant et finissant par une lettre ou un chiffre.
error-username-reserved = Ce nom d’utilisateur est réservé. Choisissez-en un autre.
error-username-taken = Ce nom d’utilisateur est déjà pris. Choisissez-en un autre.
error-theme = Choisissez Clair, Sombre ou Comme mon appareil.
error-language = Choisissez une langue dans la liste.
error-url = Saisissez une adresse web complète commençant par https://.
error-code-wrong = Ce code est incorrect ou a expiré. Vérifiez l'e-mail ou demandez un nouveau code.

## Avis après une action
notice-account-deleted = Votre compte et tout son contenu ont été supprimés.
notice-signed-out = Vous êtes déconnecté.
notice-password-reset = Votre mot de passe a été modifié. Connectez-vous avec le nouveau.
notice-profile = Votre profil a été enregistré.
notice-settings = Vos paramètres ont été enregistrés.
notice-password = Votre mot de passe a été modifié. Les autres sessions ont été déconnectées.
notice-revoked = La session a été révoquée.
notice-revoked-others = Toutes les autres sessions ont été déconnectées.
notice-verification-sent = Nous vous avons envoyé un nouveau lien de confirmation.
notice-change-sent = Nous avons envoyé un lien de confirmation à la nouvelle adresse. Votre adresse changera dès que vous l'aurez suivi.
notice-method-linked = La méthode de connexion a été associée.
notice-method-unlinked = La méthode de connexion a été supprimée.
notice-method-last = C'est votre dernier moyen de connexion : il ne peut pas être supprimé. Ajoutez-en d'abord un autre.
notice-app-revoked = L'accès a été révoqué.

## Pages de message
check-email-title = Consultez vos e-mails
signup-check-email = Nous avons envoyé un lien de confirmation à { $email }. Suivez-le, puis connectez-vous.
go-to-account = Accéder à votre compte
your-account = Votre compte
too-many-title = Trop de demandes
too-many-message = Veuillez patienter un moment avant de réessayer.
resend-sent = Si cette adresse correspond à un compte qui doit encore être confirmé, un nouveau lien est en route.
forgot-sent = Si un compte utilise cette adresse, un lien de réinitialisation du mot de passe est en route. Il est valable une heure.
magic-sent = Si un compte utilise cette adresse, un lien de connexion est en route. Il est valable 15 minutes.
verify-confirm-message = Appuyez sur le bouton pour confirmer cette adresse.
verify-confirm-button = Confirmer mon adresse
verified-title = Adresse e-mail confirmée
verified-message = Merci : votre adresse e-mail est confirmée.
changed-title = Adresse e-mail modifiée
changed-message = Votre adresse e-mail est désormais { $email }.
taken-title = Adresse déjà utilisée
taken-message = Un autre compte utilise désormais cette adresse : elle ne peut donc pas être aussi la vôtre.
link-expired-title = Lien expiré
verify-link-expired = Ce lien est invalide, a expiré ou a déjà été utilisé. Demandez-en un nouveau depuis la page de votre compte.
reset-link-expired = Ce lien de réinitialisation est invalide, a expiré ou a déjà été utilisé. Demandez-en un nouveau.
reset-link-request-new = Réinitialiser mon mot de passe
magic-confirm-message = Appuyez sur le bouton pour terminer la connexion.
magic-link-expired = Ce lien de connexion est invalide, a expiré ou a déjà été utilisé.
authorize-confirm-email = Suivez le lien que nous avons envoyé à { $email } pour la confirmer, puis revenez à l'application.

## Pages d'erreur
error-not-found-title = Page introuvable
error-not-found-message = Il n'y a rien à cette adresse.
error-bad-request-title = Requête invalide
error-csrf-title = Ce formulaire a expiré
error-csrf-message = Le formulaire était périmé ou a été envoyé depuis un autre site. Revenez en arrière, rechargez la page et réessayez.
error-account-disabled-title = Compte désactivé
error-account-disabled-message = Ce compte a été désactivé. Contactez votre administrateur.
error-login-required-title = Connexion requise
error-login-required-message = Veuillez vous connecter.
error-unavailable-title = Temporairement indisponible
error-unavailable-message = Le service est surchargé ou sa base de données est injoignable. Veuillez réessayer dans quelques instants.
error-conflict-title = Cela a changé entre-temps
error-duplicate-message = Quelqu’un d’autre a pris le même nom ou la même adresse au même moment. Rien n’a été enregistré : revenez en arrière, rechargez la page et réessayez.
error-reference-message = Ce que vous modifiiez a été supprimé, ou est encore utilisé, entre-temps. Rien n’a été enregistré : revenez en arrière, rechargez la page et réessayez.
error-not-saved-title = Impossible d’enregistrer
error-not-saved-message = Une partie de ce qui a été envoyé manque ou sort de ce qui est permis. Rien n’a été enregistré : revenez en arrière, vérifiez le formulaire et réessayez.
error-timeout-title = Cela a pris trop de temps
error-timeout-message = La base de données était occupée et n’a pas répondu à temps. Rien n’a été modifié : veuillez réessayer dans un instant.
error-unexpected-message = Une erreur inattendue s'est produite. Veuillez réessayer.
error-form-too-large = Le formulaire est trop volumineux.
error-form-unreadable = Le formulaire n'a pas pu être lu. Revenez en arrière et réessayez.
error-authorize-expired = Cette demande de connexion a expiré ou est invalide. Revenez à l'application et recommencez.
error-client-gone = L'application n'est plus enregistrée ici.

## Connexion via un autre fournisseur
upstream-failed-title = La connexion n'a pas abouti
upstream-refused-title = Impossible de se connecter de cette façon pour l'instant
upstream-denied = Vous avez annulé la connexion sur { $provider }.
upstream-provider-error = { $provider } a signalé une erreur : { $detail }
upstream-unreachable = { $provider } est injoignable ou n'a pas répondu à temps. Veuillez réessayer.
upstream-invalid = La réponse de { $provider } n'a pas pu être vérifiée ({ $detail }).
upstream-bad-state = Ce lien de connexion a expiré ou a déjà été utilisé. Veuillez recommencer.
upstream-no-verified-email = { $provider } ne nous a pas communiqué d'adresse e-mail confirmée, or il en faut une pour se connecter.
upstream-restricted-domains = La connexion avec { $provider } est réservée aux adresses confirmées chez { $domains }.
upstream-restricted-orgs = La connexion avec { $provider } est réservée aux membres de { $orgs }.
upstream-too-large = { $provider } a envoyé une réponse plus grande que ce que nous acceptons. Veuillez réessayer plus tard, ou prévenir l'administration si cela se reproduit.
upstream-misconfigured = { $provider } a publié des réglages que nous ne pouvons pas utiliser ({ $detail }). Veuillez prévenir l'administration.
upstream-link-session-ended = L'association a été commencée dans une session qui a pris fin depuis (déconnexion, ou quelqu'un d'autre s'est connecté dans ce navigateur). Rien n'a été associé. Veuillez vous connecter et recommencer l'association.
upstream-bad-answer = { $provider } n'a pas donné de réponse exploitable. Veuillez réessayer plus tard, ou prévenir l'administrateur si cela se reproduit.
error-cause = Cause : { $cause }.
upstream-cause-dns = impossible de résoudre { $host } (DNS)
upstream-cause-refused = connexion refusée par { $address }
upstream-cause-connect-timeout = délai dépassé pour se connecter à { $address }
upstream-cause-connect = impossible de se connecter à { $address }
upstream-cause-tls = la connexion sécurisée (TLS) avec { $host } a échoué
upstream-cause-timeout = { $host } n'a pas répondu à temps
upstream-cause-status = HTTP { $status } de { $endpoint }
upstream-cause-not-json = { $endpoint } n'a pas répondu en JSON
upstream-cause-missing-field = il manque le champ { $field } à { $endpoint }
upstream-cause-invalid-field = { $endpoint } a un champ { $field } inutilisable
upstream-cause-client-rejected = { $endpoint } a refusé nos identifiants client
upstream-cause-too-large = { $endpoint } a envoyé plus que nous n'acceptons
upstream-cause-not-web = { $endpoint } n'est pas une adresse http(s)
upstream-cause-other = la requête à { $endpoint } a échoué
link-linked-elsewhere = Ce compte { $provider } est déjà associé à un autre compte Portcullis.
link-no-email = { $provider } ne nous a pas communiqué d'adresse e-mail, or il en faut une pour créer un compte.
link-unverified = Confirmez d'abord votre adresse e-mail { $email } : suivez le lien que nous vous avons envoyé, puis reconnectez-vous.

## Demandes d'applications qui ne peuvent pas être traitées
authorize-no-client-id = L'application n'a pas indiqué qui elle est (client_id manquant).
authorize-unknown-client = L'application n'est pas enregistrée ici (client_id inconnu).
authorize-no-redirect-uri = L'application n'a pas indiqué où vous renvoyer (redirect_uri manquant).
authorize-redirect-mismatch = L'application demande à vous envoyer vers une adresse qu'elle n'a pas enregistrée (redirect_uri non concordant).
authorize-repeated = La demande de connexion est mal formée (client_id ou redirect_uri répété).
logout-bad-id-token = La demande de déconnexion contenait un jeton d'identité invalide.
logout-two-clients = La demande de déconnexion désigne deux applications différentes.
logout-unknown-client = La demande de déconnexion désigne une application inconnue.
logout-unregistered-redirect = L'application demande à revenir vers une adresse qu'elle n'a pas enregistrée.
notice-second-factor-expired = Cette connexion a pris trop de temps ou est déjà terminée. Veuillez vous reconnecter.
link-cannot-prove = Un compte avec l’adresse { $email } existe déjà, et il n’offre aucun moyen de prouver qu’il est à vous. Demandez de l’aide à un administrateur.
link-pending-expired = Cette demande de liaison a expiré ou a déjà servi. Rien n’a été lié. Reconnectez-vous pour recommencer.
link-prove-title = Est-ce votre compte ?
link-prove-lead = { $provider } indique que vous êtes { $email }, et un compte avec cette adresse existe déjà ici.
link-prove-why = Pour vous connecter avec { $provider } désormais, prouvez d’abord que le compte existant est le vôtre. D’ici là, rien n’est lié.
link-prove-sign-in = Se connecter à votre compte
link-prove-email = M’envoyer un lien de confirmation
link-cancel-button = Annuler, ne pas lier
link-confirm-title = Lier { $provider } à votre compte ?
link-confirm-lead = Vous pourrez alors vous connecter à { $account } avec le compte { $provider } { $email }.
link-confirm-button = Lier { $provider }
link-done-title = Compte lié
link-done = { $provider } permet désormais de vous connecter à votre compte.
link-continue = Continuer avec { $provider }
link-not-linked-title = Rien n’a été lié
link-other-account = Vous avez prouvé un autre compte que celui qui a cette adresse ; { $provider } n’a donc été lié à aucun des deux.
link-cancelled = Rien n’a été lié, et les deux comptes sont inchangés.
link-proof-too-many = Trop d’e-mails ont été envoyés à cette adresse récemment. Patientez un moment, ou connectez-vous plutôt à votre compte.
link-proof-sent = Nous avons envoyé un lien à l’adresse de votre compte. Ouvrez-le dans ce navigateur d’ici { $minutes } minutes.
link-mailed-lead = Votre adresse est confirmée. Lier { $provider } à votre compte ?
link-proof-invalid = Ce lien a expiré, a déjà servi ou a été ouvert dans un autre navigateur que celui où vous vous êtes connecté. Rien n’a été lié.
not-me-title = Ce n’était pas moi
not-me-lead = Retirer de votre compte le moyen de connexion nouvellement lié et fermer toutes les sessions qu’il a ouvertes ?
not-me-button = Le retirer et le déconnecter
not-me-expired = Ce lien a expiré ou a déjà servi. Vous pouvez toujours retirer des moyens de connexion depuis la page de votre compte.
not-me-done = Le moyen de connexion a été retiré et les sessions qu’il a ouvertes ont été fermées. Si vous pensez que quelqu’un connaît votre mot de passe, réinitialisez-le maintenant.
notice-merged = L'autre compte a été fusionné avec celui-ci. Ses moyens de connexion sont désormais les vôtres.
merge-title = Fusionner un autre compte avec celui-ci
merge-heading = Deux comptes ?
merge-teaser = Si vous avez un second compte ici, vous pouvez le fusionner avec celui-ci.
merge-link = Fusionner des comptes
merge-lead = Ce compte ({ $email }) est conservé. Connectez-vous ensuite à l'autre compte dans ce navigateur, avec l'un de ses moyens de connexion ; puis confirmez la fusion.
merge-start-button = Se connecter à l'autre compte
merge-confirm-lead = Fusionner { $merged } avec { $survivor } ?
merge-confirm-methods = Ses moyens de connexion (fournisseurs, clés d'accès, et son mot de passe si l'autre compte n'en a pas) passent à { $survivor }.
merge-confirm-apps = Les applications utilisées avec lui vous demanderont de vous reconnecter.
merge-confirm-gone = { $merged } est ensuite supprimé définitivement, avec ses sessions et ses seconds facteurs.
merge-take-name = Utiliser le nom de ce compte ({ $name })
merge-take-picture = Utiliser la photo de ce compte
merge-confirm-button = Y fusionner { $merged }
merge-expired = Cette fusion a expiré ou a déjà servi. Rien n'a été fusionné. Recommencez depuis la page de votre compte.
merge-same = Vous vous êtes reconnecté au même compte. Connectez-vous à l'autre compte pour le fusionner.
